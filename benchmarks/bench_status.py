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

from egpt_dsec.manifest import ClipRecord, Manifest, SequencePlan

from egpt_dsec.reports.status import collect_status

DURATIONS = {
    "500ms": 1000,
    "1s": 500,
    "2s": 250,
    "4s": 125,
    "5s": 100,
    "8s": 60,
    "10s": 50,
    "16s": 30,
}
COMPONENTS = ("event_image", "event_npy", "mp4", "video")


def write_state(out: Path, sequences: int = 53) -> int:
    manifest = Manifest(out / ".egpt-dsec")
    clips = 0
    for s in range(sequences):
        writer = manifest.writer("train", f"seq_{s:02d}")
        for duration, count in DURATIONS.items():
            for k in range(count):
                writer.append(ClipRecord(duration, k, 0, 1, 7, 0, 10, 5, COMPONENTS, 0, 3))
                clips += 1
        writer.close()
        plan = {d: c // 2 for d, c in DURATIONS.items()}
        manifest.write_plan(SequencePlan("train", f"seq_{s:02d}", plan))
    return clips


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
