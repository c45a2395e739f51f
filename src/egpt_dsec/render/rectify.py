"""Rectified event coordinates: each raw pixel looked up in DSEC's ``rectify_map``.

``rectify_map[y, x]`` holds the rectified (x, y) of raw pixel (x, y) as floats. An event
gets the rectified pixel ``(np.rint(x_r), np.rint(y_r))`` (round half to even, NumPy's
rule), and is dropped when that pixel falls outside the 640x480 image. The rounding
is done once per pixel into a :class:`RectifyTable` (one packed ``y' << 16 | x'`` per
raw pixel), so an event costs one table load and no arithmetic: the same result
however a clip is chunked, in any order, on any machine.

Plugs into the streaming pass right after the events are read from ``events.h5``
(before the npy, event-image and count bookkeeping), one table per sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH, Events

DROPPED = np.uint32(0xFFFFFFFF)  # table value of a raw pixel whose events are dropped


@dataclass(frozen=True, eq=False)
class RectifyTable:
    """For each raw pixel ``y * width + x``: its rectified pixel as ``y' << 16 | x'``, or
    ``DROPPED``."""

    table: NDArray[np.uint32]
    width: int = SENSOR_WIDTH
    height: int = SENSOR_HEIGHT

    @staticmethod
    def from_map(rectify_map: NDArray[np.floating]) -> RectifyTable:
        """Round a (height, width, 2) forward map once; out-of-image or non-finite: dropped."""
        height, width = rectify_map.shape[:2]
        if rectify_map.shape != (height, width, 2) or max(height, width) >= 1 << 16:
            raise ValueError(f"rectify_map must be (height, width, 2), got {rectify_map.shape}")
        with np.errstate(invalid="ignore"):
            xr = np.rint(rectify_map[..., 0]).astype(np.float64)
            yr = np.rint(rectify_map[..., 1]).astype(np.float64)
            inside = (xr >= 0) & (xr < width) & (yr >= 0) & (yr < height)
        packed = np.full((height, width), DROPPED, dtype=np.uint32)
        packed[inside] = (yr[inside].astype(np.uint32) << 16) | xr[inside].astype(np.uint32)
        return RectifyTable(packed.reshape(-1), width, height)

    def rectified_index(self) -> NDArray[np.int64]:
        """Per raw pixel, the flat rectified index ``y' * width + x'``, or -1 if dropped."""
        valid = self.table != DROPPED
        flat = np.full(self.table.shape, -1, dtype=np.int64)
        packed = self.table[valid].astype(np.int64)
        flat[valid] = (packed >> 16) * self.width + (packed & 0xFFFF)
        return flat

    @property
    def kept_pixels(self) -> int:
        """Raw pixels whose events survive rectification."""
        return int(np.count_nonzero(self.table != DROPPED))


@njit(cache=True, nogil=True, error_model="numpy")
def _rectify(  # noqa: PLR0913  (a Numba kernel takes its arrays one by one)
    x: NDArray[np.uint16],
    y: NDArray[np.uint16],
    table: NDArray[np.uint32],
    width: int,
    height: int,
    keep: NDArray[np.bool_],
    x_out: NDArray[np.uint16],
    y_out: NDArray[np.uint16],
) -> tuple[int, int]:
    """Fill ``keep`` and the kept events' coordinates; return (kept, outside the sensor)."""
    kept = 0
    bad = 0
    dropped = np.uint32(0xFFFFFFFF)
    for i in range(len(x)):
        xi = np.int64(x[i])
        yi = np.int64(y[i])
        if xi >= width or yi >= height:
            keep[i] = False
            bad += 1
            continue
        v = table[yi * width + xi]
        ok = v != dropped
        keep[i] = ok
        x_out[kept] = v & 0xFFFF  # written always, counted only when kept: no branch
        y_out[kept] = v >> 16
        kept += ok
    return kept, bad


def rectify_events(
    x: NDArray[np.uint16], y: NDArray[np.uint16], table: RectifyTable
) -> tuple[NDArray[np.bool_], NDArray[np.uint16], NDArray[np.uint16]]:
    """``(keep, x_rect, y_rect)``: which events survive, and their rectified coordinates.

    ``x_rect`` and ``y_rect`` hold the kept events only, in input order (apply ``keep``
    to ``p`` and ``t``); ``len(x) - keep.sum()`` events were dropped. Raw coordinates
    outside the table (a corrupt file) raise ValueError rather than read past it.
    """
    x, y = _raw_coordinates(x, y)
    keep = np.empty(len(x), dtype=np.bool_)
    x_out = np.empty(len(x), dtype=np.uint16)
    y_out = np.empty(len(x), dtype=np.uint16)
    kept, bad = _rectify(x, y, table.table, table.width, table.height, keep, x_out, y_out)
    if bad:
        raise ValueError(f"{bad} events lie outside the {table.width}x{table.height} sensor")
    return keep, x_out[:kept], y_out[:kept]


def _raw_coordinates(
    x: NDArray[np.uint16], y: NDArray[np.uint16]
) -> tuple[NDArray[np.uint16], NDArray[np.uint16]]:
    """x and y as the kernels take them: contiguous uint16, 1-d, equally long."""
    x = np.ascontiguousarray(x, dtype=np.uint16)
    y = np.ascontiguousarray(y, dtype=np.uint16)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-d and equally long, got {x.shape} and {y.shape}")
    return x, y


def rectify_run(events: Events, table: RectifyTable) -> tuple[Events, int]:
    """The events that survive, with rectified x and y, and how many were dropped."""
    keep, x_rect, y_rect = rectify_events(events.x, events.y, table)
    kept = Events(p=events.p[keep], t=events.t[keep], x=x_rect, y=y_rect)
    return kept, len(events) - len(kept)


def count_kept(x: NDArray[np.uint16], y: NDArray[np.uint16], table: RectifyTable) -> int:
    """How many of these raw events survive, without producing them.

    EventGPT splits a clip into image parts by event count, so a rectified clip needs
    its kept count before its events stream by: a cheap pass over x and y gives it.
    """
    x, y = _raw_coordinates(x, y)
    kept = _count_kept(x, y, table.table, table.width, table.height)
    if kept < 0:
        raise ValueError(f"events lie outside the {table.width}x{table.height} sensor")
    return int(kept)


@njit(cache=True, nogil=True)
def _count_kept(
    x: NDArray[np.uint16], y: NDArray[np.uint16], table: NDArray[np.uint32], width: int, height: int
) -> int:
    """Kept events, or -1 if one lies outside the table."""
    kept = 0
    dropped = np.uint32(0xFFFFFFFF)
    for i in range(len(x)):
        xi = np.int64(x[i])
        yi = np.int64(y[i])
        if xi >= width or yi >= height:
            return -1
        kept += table[yi * width + xi] != dropped
    return kept
