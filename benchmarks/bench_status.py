"""How long `egpt-dsec status` takes on a build of ~100,000 clips (target: under 2 s).

Writes a synthetic state folder (53 sequences, 8 durations, manifests and plans, no
outputs) into a temp dir, then times `collect_status` and the whole CLI command.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from egpt_dsec.durations import DEFAULT_DURATIONS
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.plan.sequence import plan_sequence
from egpt_dsec.reports.status import collect_status
from egpt_dsec.state.manifest import ClipRecord, Manifest
from egpt_dsec.state.plans import store_plan

SECONDS = 250.0  # per sequence: ~1,000 windows of 500 ms, ~2,100 clips of all durations
KINDS = ("event_image", "event_npy", "mp4", "video")


def write_state(out: Path, sequences: int = 53) -> int:
    """Plans and manifests of a finished build of ``sequences`` sequences (no outputs)."""
    state = StateLayout(out)
    manifest = Manifest(state)
    timestamps = 36_000_000_000 + 50_000 * np.arange(int(SECONDS * 20) + 1, dtype=np.int64)
    plan = plan_sequence(timestamps, DEFAULT_DURATIONS, 0.5, None)
    for s in range(sequences):
        name = f"seq_{s:02d}"
        store_plan(state, "train", name, plan, KINDS)
        writer = manifest.writer("train", name)
        for c in plan.clips:
            record = ClipRecord(c.duration.label, c.index, c.t0, c.t1, 7, c.frame_start,
                                c.frame_stop, 5, KINDS, 0, c.image_idx)  # fmt: skip
            writer.append(record)
        writer.close()
    return sequences * len(plan.clips)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        clips = write_state(out)
        started = time.perf_counter()
        collect_status(out)
        library = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "egpt_dsec", "status", "--out", str(out)],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        command = time.perf_counter() - started
    print("| clips | collect_status | `egpt-dsec status` (incl. start-up) | target |")
    print("|---|---|---|---|")
    verdict = "met" if command < 2 else "MISSED"
    print(f"| {clips:,} | {library:.2f} s | {command:.2f} s | < 2 s: {verdict} |")


if __name__ == "__main__":
    main()
