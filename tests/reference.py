"""Slow, obvious reference implementations the fast pipeline is checked against."""

from __future__ import annotations

from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401
import numpy as np


def reference_events(events_h5: Path, t0: int, t1: int) -> dict[str, np.ndarray]:
    """Load the whole file and keep events with t0 <= t + t_offset < t1, by a boolean mask."""
    with h5py.File(events_h5, "r") as f:
        offset = int(f["t_offset"][()]) if "t_offset" in f else 0
        t = f["events/t"][:].astype(np.int64) + offset
        keep = (t >= t0) & (t < t1)
        return {
            "p": f["events/p"][:][keep].astype(np.uint8),
            "t": t[keep],
            "x": f["events/x"][:][keep].astype(np.uint16),
            "y": f["events/y"][:][keep].astype(np.uint16),
        }


def reference_image(x: np.ndarray, y: np.ndarray, p: np.ndarray, style: str) -> np.ndarray:
    """EventGPT drawing, one event at a time on a 480x640 white image."""
    if style == "gray":
        acc = np.zeros((480, 640), dtype=np.int64)
        for xi, yi, pi in zip(x.tolist(), y.tolist(), p.tolist(), strict=True):
            acc[yi, xi] += 1 if pi else -1
        gray = np.clip(128 + 32 * acc, 0, 255).astype(np.uint8)
        return np.dstack([gray, gray, gray, np.full_like(gray, 255)])
    img = np.full((480, 640, 3), 255, dtype=np.uint8)
    red, blue = (255, 0, 0), (0, 0, 255)
    events = list(zip(x.tolist(), y.tolist(), p.tolist(), strict=True))
    if style == "last":
        for xi, yi, pi in events:
            img[yi, xi] = red if pi else blue
    else:
        first, second = (0, 1) if style == "red" else (1, 0)  # the winner is painted last
        for wanted in (first, second):
            for xi, yi, pi in events:
                if pi == wanted:
                    img[yi, xi] = red if pi else blue
    return img


def reference_parts(n: int, parts: int) -> list[tuple[int, int]]:
    k = n // parts
    return [(i * k, (i + 1) * k if i < parts - 1 else n) for i in range(parts)]
