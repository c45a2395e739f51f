"""Boxes moved from the raw event view into the rectified one (``--rectify-events``).

DSEC-Detection labels the raw, distorted 640x480 event view. A build with
``--rectify-events`` draws its event images in the rectified view through the
sequence's ``rectify_map`` (raw pixel (u, v) -> rectified ``rectify_map[v, u]``), so its
boxes are moved the same way: a clipped raw box ``[x0, x1) x [y0, y1)`` covers the raw
pixels ``u = floor(x0) .. ceil(x1) - 1`` and ``v = floor(y0) .. ceil(y1) - 1``; its
border pixels (the first and last row and column of that block) go through the map,
and the rectified box is ``[min x_r, max x_r + 1) x [min y_r, max y_r + 1)`` over them,
clipped to the image again (a box with nothing left inside is dropped).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.labels.tracks import Tracks

RAW, RECTIFIED = "raw event view", "rectified event view"
VIEWS = (RAW, RECTIFIED)


def border_pixels(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
    """The raw pixel block a clipped box covers: first and last column, first and last row."""
    return math.floor(x0), math.ceil(x1) - 1, math.floor(y0), math.ceil(y1) - 1


def rectified_box(
    box: tuple[float, float, float, float], rectify_map: NDArray[np.float32]
) -> tuple[float, float, float, float]:
    """One clipped raw box in the rectified view (not yet clipped)."""
    u0, u1, v0, v1 = border_pixels(*box)
    edges = (
        rectify_map[v0, u0 : u1 + 1],
        rectify_map[v1, u0 : u1 + 1],
        rectify_map[v0 : v1 + 1, u0],
        rectify_map[v0 : v1 + 1, u1],
    )
    border = np.concatenate(edges).astype(np.float64)
    xs, ys = border[:, 0], border[:, 1]
    return float(xs.min()), float(ys.min()), float(xs.max()) + 1.0, float(ys.max()) + 1.0


def rectify_boxes(tracks: Tracks, rectify_map: NDArray[np.float32]) -> Tracks:
    """Every box of ``tracks`` (raw view, clipped) in the rectified view, clipped."""
    corners = np.empty((len(tracks), 4), dtype=np.float64)
    for i in range(len(tracks)):
        box = (float(tracks.x0[i]), float(tracks.y0[i]), float(tracks.x1[i]), float(tracks.y1[i]))
        corners[i] = rectified_box(box, rectify_map)
    moved = Tracks(
        tracks.t, corners[:, 0], corners[:, 1], corners[:, 2], corners[:, 3],
        tracks.class_id, tracks.track_id,
    )  # fmt: skip
    return moved.clipped()
