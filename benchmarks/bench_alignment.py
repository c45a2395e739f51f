"""Cost of alignment: rectifying events (M ev/s) and warping 1440x1080 frames (ms/frame).

    .venv/bin/python benchmarks/bench_alignment.py

Events are uniform over the sensor (the worst case for the table's cache) and the real
DSEC sample (clustered); frames are a synthetic 1440x1080 frame, also timed as a PNG
decode (what the build pays per frame anyway). Single-threaded OpenCV unless noted.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from egpt_dsec.render.rectify import RectifyTable, rectify_events
from egpt_dsec.render.warp import warp_frame_to_event_view
from egpt_dsec.source.frames import decode_frame
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec
from egpt_dsec.synth.calibration import SynthCalibration
from egpt_dsec.synth.real import load_windows


def best_of(repeats: int, run: object) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def bench_rectify(table: RectifyTable) -> None:
    rng = np.random.default_rng(0)
    n = 50_000_000
    x = rng.integers(0, 640, n).astype(np.uint16)
    y = rng.integers(0, 480, n).astype(np.uint16)
    rectify_events(x[:10], y[:10], table)  # compile
    seconds = best_of(3, lambda: rectify_events(x, y, table))
    print(f"rectify_events, uniform pixels: {n / seconds / 1e6:.0f} M ev/s")
    windows = load_windows()
    rx = np.concatenate([w.x for w in windows] * 40)
    ry = np.concatenate([w.y for w in windows] * 40)
    seconds = best_of(3, lambda: rectify_events(rx, ry, table))
    rate = len(rx) / seconds / 1e6
    print(f"rectify_events, real DSEC sample ({len(rx) / 1e6:.0f} M events): {rate:.0f} M ev/s")


def bench_warp(calib: SynthCalibration, folder: Path) -> None:
    spec = SynthSpec(sequences=1, seconds=0.1, rate=1e4, frame_size=(1440, 1080))
    write_synthetic_dsec(folder, spec)
    png = folder / "train/synth_00/images/left/rectified/000001.png"
    decode_s = best_of(5, lambda: decode_frame(png))
    frame = decode_frame(png)
    h = calib.calibration().frame_to_event_homography()
    for threads in (1, -1):  # -1: OpenCV's default pool
        cv2.setNumThreads(threads)
        warp_s = best_of(20, lambda: warp_frame_to_event_view(frame, h))
        label = "1 thread" if threads == 1 else f"default, {cv2.getNumThreads()} threads"
        print(f"warp 1440x1080 -> 640x480 ({label}): {warp_s * 1e3:.2f} ms/frame")
    print(f"PNG decode of the same frame: {decode_s * 1e3:.1f} ms")


def main() -> None:
    calib = SynthCalibration.random(np.random.default_rng(0), (1440, 1080))
    rmap = calib.rectify_map()
    build_s = best_of(3, lambda: RectifyTable.from_map(rmap))
    print(f"RectifyTable.from_map: {build_s * 1e3:.1f} ms (once per sequence)")
    cv2.setNumThreads(1)
    bench_rectify(RectifyTable.from_map(rmap))
    with tempfile.TemporaryDirectory() as tmp:
        bench_warp(calib, Path(tmp))


if __name__ == "__main__":
    main()
