"""What a build of the full DSEC makes and costs, from ``dsec_sequences.csv`` (the real
event count and length of every sequence), without the 80 GB download.

It writes a metadata-only DSEC root (each ``events.h5`` has its datasets at their real
shapes, unwritten, and a uniform ``ms_to_idx``; 20 Hz timestamps; empty frame files but
the first, a real 1440x1080 PNG header), measures the cost model on a few seconds of the
real DSEC sample replayed at 1440x1080, and runs the plan on it. Prints the plan table
and one summary line per event format, for the README.

Run: .venv/bin/python benchmarks/plan_full_dsec.py [--csv benchmarks/dsec_sequences.csv]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from dataclasses import replace
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np
from PIL import Image

from egpt_dsec.config import BuildConfig
from egpt_dsec.layout.dsec import SPLIT_ARCHIVES, SequenceFiles, sequence_folder
from egpt_dsec.reports.plan.collect import estimate_build
from egpt_dsec.reports.plan.format import format_plan, summary
from egpt_dsec.reports.plan.probe import probe
from egpt_dsec.source.discover import discover_sequences
from egpt_dsec.synth.real import write_replayed_sequence

FRAME_SIZE = (1440, 1080)
FRAME_HZ = 20
T_OFFSET = 36_000_000_000
HERE = Path(__file__).resolve().parent


def write_metadata_sequence(folder: Path, events: int, seconds: float) -> None:
    files = SequenceFiles(folder, layout=SPLIT_ARCHIVES)
    files.events_dir.mkdir(parents=True)
    with h5py.File(files.events_h5, "w") as f:
        blosc = dict(hdf5plugin.Blosc(cname="zstd", clevel=1, shuffle=hdf5plugin.Blosc.SHUFFLE))
        for name, dtype in (("x", "u2"), ("y", "u2"), ("p", "u1"), ("t", "u4")):
            f.create_dataset(
                f"events/{name}", shape=(events,), dtype=dtype, chunks=(2**16,), **blosc
            )
        ms = int(seconds * 1000) + 1
        f["ms_to_idx"] = np.linspace(0, events, ms, endpoint=False).astype(np.uint64)
        f["t_offset"] = np.int64(T_OFFSET)
    frames = int(seconds * FRAME_HZ) + 1
    timestamps = T_OFFSET + 200 + np.arange(frames, dtype=np.int64) * (1_000_000 // FRAME_HZ)
    files.timestamps.parent.mkdir(parents=True, exist_ok=True)
    files.timestamps.write_text("".join(f"{t}\n" for t in timestamps))
    files.frames_dir.mkdir(parents=True)
    Image.new("RGB", FRAME_SIZE).save(files.frame(0))
    for i in range(1, frames):
        files.frame(i).touch()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--csv", type=Path, default=HERE.parents[1] / "shared" / "dsec_sequences.csv"
    )
    args = parser.parse_args()
    rows = list(csv.DictReader(args.csv.open()))
    # The CSV has no length for the test sequences: take the train sequences' mean rate.
    timed = [r for r in rows if r["duration_s"]]
    rate = sum(int(r["left_events"]) for r in timed) / sum(float(r["duration_s"]) for r in timed)
    for r in rows:
        r["duration_s"] = r["duration_s"] or str(round(int(r["left_events"]) / rate, 1))
    seconds = sum(float(r["duration_s"]) for r in rows)
    print(f"{len(rows)} sequences, {seconds:,.0f} s (test lengths at {rate / 1e6:.1f} M ev/s)")
    with tempfile.TemporaryDirectory(dir=HERE.parent) as work:
        sample_root = Path(work) / "sample"
        write_replayed_sequence(
            sequence_folder(sample_root, "train", "sample"), seconds=3.0, frame_size=FRAME_SIZE
        )
        full = Path(work) / "full"
        for row in rows:
            folder = sequence_folder(full, row["split"], row["sequence"])
            write_metadata_sequence(folder, int(row["left_events"]), float(row["duration_s"]))
        for event_format in ("npy", "ref"):
            base = BuildConfig(sample_root, Path(work) / "out", event_format=event_format)
            sample = discover_sequences(sample_root)
            measured = probe(base, sample, 61, FRAME_SIZE)
            estimate = estimate_build(replace(base, dsec_root=full), measured)
            if event_format == "npy":
                print(format_plan(estimate))
            print(f"--event-format {event_format}: {summary(estimate)}")
            print(
                "  bytes by kind: "
                + ", ".join(f"{k} {v / 1e12:.3f} TB" for k, v in estimate.total.bytes.items())
            )
            cpu_h, disk_h = estimate.cpu_seconds / 3600, estimate.disk_seconds / 3600
            print(f"  one-core CPU: {cpu_h:.1f} h; disk: {disk_h:.1f} h")


if __name__ == "__main__":
    main()
