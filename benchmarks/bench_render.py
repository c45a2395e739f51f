"""Event-image rendering speed: paint() events/s per style, to_pixels and PNG encode times.

Run: .venv/bin/python benchmarks/bench_render.py [--events 20000000] [--repeat 5]
Not a test: it prints a table. Single thread (the kernels release the GIL; a build can
paint several images in parallel threads or processes).
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from numba import njit
from PIL import Image

from egpt_dsec.render import new_canvas, paint, part_bounds, to_pixels
from egpt_dsec.writers.png import save_png

STYLES = ("last", "red", "blue", "gray")
H, W = 480, 640
SAMPLE_DIR = Path("/work/shared/real-dsec-sample")

Ev = tuple[np.ndarray, np.ndarray, np.ndarray]


def random_events(n: int, rng: np.random.Generator) -> Ev:
    return (
        rng.integers(0, W, n).astype(np.uint16),
        rng.integers(0, H, n).astype(np.uint16),
        rng.integers(0, 2, n).astype(np.uint8),
    )


def clustered_events(n: int, rng: np.random.Generator) -> Ev:
    """A few edges sweeping across the sensor, with noise: events bunch up in space and time."""
    t = np.linspace(0.0, 1.0, n)
    edge = rng.integers(0, 6, n)  # which of 6 edges fired
    speed = np.array([300, -200, 150, 400, -350, 250])[edge]
    start = np.array([50, 600, 200, 10, 500, 320])[edge]
    x = (start + speed * t + rng.normal(0, 2.0, n)) % W
    y = rng.normal(np.array([100, 200, 300, 380, 240, 60])[edge], 60.0)
    noise = rng.random(n) < 0.05
    x[noise] = rng.integers(0, W, noise.sum())
    y[noise] = rng.integers(0, H, noise.sum())
    p = (rng.random(n) < np.where(speed > 0, 0.7, 0.3)).astype(np.uint8)
    return x.astype(np.uint16), np.clip(y, 0, H - 1).astype(np.uint16), p


def real_events() -> list[Ev]:
    runs = []
    for path in sorted(SAMPLE_DIR.glob("*.npz")):
        with np.load(path) as d:
            runs.append((d["x"], d["y"], d["p"]))
    return runs


def tile(runs: list[Ev], n: int) -> Ev:
    cat = [np.concatenate([r[i] for r in runs]) for i in range(3)]
    reps = -(-n // len(cat[0]))
    return tuple(np.tile(a, reps)[:n] for a in cat)  # type: ignore[return-value]


@njit(cache=True, nogil=True)
def naive_last(plane: np.ndarray, x: np.ndarray, y: np.ndarray, p: np.ndarray) -> None:
    """The obvious loop, for comparison with the unrolled kernel."""
    for i in range(x.shape[0]):
        plane[y[i], x[i]] = 2 if p[i] != 0 else 1


def best_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # compile / warm caches
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def paint_rate(style: str, ev: Ev, repeat: int, calls: int = 1) -> float:
    """Events/s of paint() over ``ev`` split into ``calls`` equal calls (incl. checks)."""
    canvas = new_canvas(style)
    x, y, p = ev
    cuts = np.linspace(0, len(x), calls + 1).astype(int)

    def run() -> None:
        for a, b in itertools.pairwise(cuts.tolist()):
            paint(canvas, x[a:b], y[a:b], p[a:b])

    return len(x) / best_time(run, repeat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=20_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    n, repeat = args.events, args.repeat
    rng = np.random.default_rng(0)
    real = real_events() if SAMPLE_DIR.is_dir() else []

    inputs: dict[str, tuple[Ev, int]] = {
        "random": (random_events(n, rng), 1),
        "clustered": (clustered_events(n, rng), 1),
    }
    if real:
        inputs["real DSEC tiled"] = (tile(real, n), 1)
        # as a build paints it: 50 ms windows of real events, one call each
        inputs["real DSEC, 1 call/window"] = (tile(real, n), -(-n // 213_000))

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"paint(): million events/s, {n:,} events, 640x480, best of {repeat}, one thread")
    print(f"(load average {load} on {os.cpu_count()} CPUs: other load lowers the numbers)")
    header = f"{'input':<26}" + "".join(f"{s:>9}" for s in STYLES) + f"{'naive':>9}"
    print(header)
    print("-" * len(header))
    for name, (ev, calls) in inputs.items():
        rates = [paint_rate(style, ev, repeat, calls) / 1e6 for style in STYLES]
        plane = np.zeros((H, W), np.uint8)
        naive = len(ev[0]) / best_time(partial(naive_last, plane, *ev), repeat) / 1e6
        print(f"{name:<26}" + "".join(f"{r:9.0f}" for r in rates) + f"{naive:9.0f}")
    print("(naive = plain one-event-per-iteration loop, style last, no checks)")

    if real:
        print("\nreal sample files, one paint() call each:")
        for path, ev in zip(sorted(SAMPLE_DIR.glob("*.npz")), real, strict=True):
            rates = [paint_rate(style, ev, 20) / 1e6 for style in STYLES]
            print(f"  {path.name:<30} {len(ev[0]):>8,} ev " + " ".join(f"{r:6.0f}" for r in rates))

    # Images as a build makes them: one real 50 ms window split into 5 parts (sparse, about
    # 60k events each), and one dense image (2M random events, worst case for PNG).
    images: dict[str, Ev] = {"dense random 2M ev": random_events(2_000_000, rng)}
    if real:
        x, y, p = real[0]
        a, b = part_bounds(len(x), 5)[2]
        images[f"real part ({b - a:,} ev)"] = (x[a:b], y[a:b], p[a:b])

    print("\nper image, ms (best of 20)")
    cols = ("to_pixels", "PNG L1", "save_png L1", "PNG L6", "KiB L1")
    print(f"{'image':<26}{'style':<7}" + "".join(f"{c:>12}" for c in cols))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "img.png"
        for name, ev in images.items():
            for style in STYLES:
                canvas = new_canvas(style)
                paint(canvas, *ev)
                pixels = to_pixels(canvas)
                t_pix = best_time(partial(to_pixels, canvas), 20)

                def encode(level: int, px: np.ndarray = pixels) -> bytes:
                    buf = io.BytesIO()
                    Image.fromarray(px).save(buf, format="PNG", compress_level=level)
                    return buf.getvalue()

                t_l1 = best_time(partial(encode, 1), 20)
                t_l6 = best_time(partial(encode, 6), 20)
                t_save = best_time(partial(save_png, out, pixels, 1), 20)
                size = len(encode(1)) / 1024
                print(
                    f"{name:<26}{style:<7}"
                    + "".join(f"{v * 1e3:12.2f}" for v in (t_pix, t_l1, t_save, t_l6))
                    + f"{size:12.1f}"
                )


if __name__ == "__main__":
    main()
