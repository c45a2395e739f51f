"""Numba kernels that draw the scene and find what changed, touching only shape pixels.

The scene is a static background plus a few anti-aliased shapes, so a new time step only
has to restore and repaint the pixels the shapes cover. Each shape records, per output
row, the span of columns it may touch (``spans[s, y] = (x0, x1)``, empty when x0 >= x1),
so restoring, painting and diffing cost about the shapes' area, not the image's.

Shapes are one float64 row each (columns ``GEOM_*``), in scene units (event sensor
pixels); ``sx`` and ``sy`` scale the scene to the output image.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

KIND_DISK = 0
KIND_BOX = 1

# Columns of a geometry row: kind, centre x, centre y, half-width (radius), half-height,
# cos and sin of the box rotation.
GEOM_KIND, GEOM_CX, GEOM_CY, GEOM_HX, GEOM_HY, GEOM_COS, GEOM_SIN = range(7)
GEOM_COLUMNS = 7
_TINY = 1e-9


def new_spans(shapes: int, height: int) -> NDArray[np.int32]:
    """Span storage for ``shapes`` shapes on an image of ``height`` rows, all empty."""
    return np.zeros((shapes, height, 2), dtype=np.int32)


@njit(cache=True, nogil=True, error_model="numpy")
def _interval(lo: float, hi: float, a: float, c: float, half: float) -> tuple[float, float]:
    """Intersect [lo, hi] with the dx where |a * dx + c| <= half."""
    if abs(a) < _TINY:
        if abs(c) > half:
            return 1.0, 0.0
        return lo, hi
    p = (-half - c) / a
    q = (half - c) / a
    if p > q:
        p, q = q, p
    return max(lo, p), min(hi, q)


@njit(cache=True, nogil=True, error_model="numpy")
def paint_shapes(
    img: NDArray[np.float32],
    geom: NDArray[np.float64],
    colors: NDArray[np.float32],
    sx: float,
    sy: float,
    spans: NDArray[np.int32],
) -> None:
    """Blend each shape, in row order, over ``img`` (H, W, C); record its spans.

    Coverage comes from the signed distance to the shape edge (one output pixel of blur),
    so edges are smooth at every output size and move sub-pixel between time steps.
    Pixels well inside or outside skip the square root.
    """
    spans[:, :, 0] = 0
    spans[:, :, 1] = 0
    for s in range(geom.shape[0]):
        _paint_shape(img, geom[s], colors[s], sx, sy, spans[s])


@njit(cache=True, nogil=True, error_model="numpy")
def _paint_shape(
    img: NDArray[np.float32],
    g: NDArray[np.float64],
    color: NDArray[np.float32],
    sx: float,
    sy: float,
    spans: NDArray[np.int32],
) -> None:
    """One shape (geometry row ``g``) blended over ``img``; its spans per row."""
    height, width, channels = img.shape
    aa = min(sx, sy)
    isx, isy = 1.0 / sx, 1.0 / sy
    blur = 0.5 / aa + 1e-6  # scene distance beyond the edge where coverage reaches 0
    disk = g[GEOM_KIND] == KIND_DISK
    cx, cy, hx, hy = g[GEOM_CX], g[GEOM_CY], g[GEOM_HX], g[GEOM_HY]
    co, si = g[GEOM_COS], g[GEOM_SIN]
    ey = hx if disk else hx * abs(si) + hy * abs(co)
    y0 = max(math.floor((cy - ey - blur) * sy - 0.5), 0)
    y1 = min(math.ceil((cy + ey + blur) * sy - 0.5) + 1, height)
    outer2 = (hx + blur) ** 2
    inner = hx - blur
    inner2 = inner * inner if inner > 0 else -1.0
    for py in range(y0, y1):
        dy = (py + 0.5) * isy - cy
        if disk:
            rest = outer2 - dy * dy
            if rest <= 0.0:
                continue
            lo, hi = -math.sqrt(rest), math.sqrt(rest)
        else:
            lo, hi = _interval(-1e18, 1e18, co, si * dy, hx + blur)
            lo, hi = _interval(lo, hi, -si, co * dy, hy + blur)
            if lo > hi:
                continue
        x0 = max(math.ceil((cx + lo) * sx - 0.5) - 1, 0)
        x1 = min(math.floor((cx + hi) * sx - 0.5) + 2, width)
        if x0 >= x1:
            continue
        spans[py, 0] = x0
        spans[py, 1] = x1
        for px in range(x0, x1):
            dx = (px + 0.5) * isx - cx
            if disk:
                cover = _disk_cover(dx * dx + dy * dy, hx, inner2, outer2, aa)
            else:
                u, v = abs(co * dx + si * dy) - hx, abs(co * dy - si * dx) - hy
                cover = _box_cover(u, v, blur, aa)
            if cover <= 0.0:
                continue
            c32 = np.float32(min(cover, 1.0))
            for k in range(channels):
                img[py, px, k] += c32 * (color[k] - img[py, px, k])


@njit(cache=True, nogil=True, error_model="numpy")
def _disk_cover(d2: float, radius: float, inner2: float, outer2: float, aa: float) -> float:
    """Coverage of a pixel at squared distance ``d2`` from a disk's centre (0: outside)."""
    if d2 >= outer2:
        return 0.0
    return 1.0 if d2 <= inner2 else 0.5 - (math.sqrt(d2) - radius) * aa


@njit(cache=True, nogil=True, error_model="numpy")
def _box_cover(u: float, v: float, blur: float, aa: float) -> float:
    """Coverage of a pixel at box-frame distances ``u``, ``v`` beyond the edges (0: outside)."""
    if u >= blur or v >= blur:
        return 0.0
    if u <= -blur and v <= -blur:
        return 1.0
    ou = max(u, 0.0)
    ov = max(v, 0.0)
    sd = math.sqrt(ou * ou + ov * ov) + min(max(u, v), 0.0)
    return 0.5 - sd * aa


@njit(cache=True, nogil=True, error_model="numpy")
def restore_spans(
    img: NDArray[np.float32], background: NDArray[np.float32], spans: NDArray[np.int32]
) -> None:
    """Undo earlier painting: copy the background back over every recorded span."""
    channels = img.shape[2]
    for s in range(spans.shape[0]):
        for y in range(spans.shape[1]):
            for x in range(spans[s, y, 0], spans[s, y, 1]):
                for k in range(channels):
                    img[y, x, k] = background[y, x, k]


@njit(cache=True, nogil=True, error_model="numpy")
def _row_runs(
    spans_a: NDArray[np.int32], spans_b: NDArray[np.int32], y: int, runs: NDArray[np.int64]
) -> int:
    """The spans of row ``y`` in both span sets, sorted and merged into disjoint runs."""
    n = 0
    for spans in (spans_a, spans_b):
        for s in range(spans.shape[0]):
            x0, x1 = spans[s, y, 0], spans[s, y, 1]
            if x0 >= x1:
                continue
            j = n  # insertion sort by start: a row holds only a few spans
            while j > 0 and runs[j - 1, 0] > x0:
                runs[j, 0] = runs[j - 1, 0]
                runs[j, 1] = runs[j - 1, 1]
                j -= 1
            runs[j, 0] = x0
            runs[j, 1] = x1
            n += 1
    merged = 0
    for i in range(n):
        if merged and runs[i, 0] <= runs[merged - 1, 1]:
            runs[merged - 1, 1] = max(runs[merged - 1, 1], runs[i, 1])
        else:
            runs[merged, 0] = runs[i, 0]
            runs[merged, 1] = runs[i, 1]
            merged += 1
    return merged


@njit(cache=True, nogil=True, error_model="numpy")
def collect_changes(  # noqa: PLR0913  (a Numba kernel takes its arrays one by one)
    prev: NDArray[np.float32],
    cur: NDArray[np.float32],
    spans_a: NDArray[np.int32],
    spans_b: NDArray[np.int32],
    eps: float,
    idx_out: NDArray[np.int64],
    delta_out: NDArray[np.float32],
    cum_out: NDArray[np.float64],
) -> int:
    """List the pixels whose channel 0 differs, with their relative brightness change.

    The change is ``(b - a) / ((a + b) / 2 + eps)``: it tracks ``Δ log I`` (the quantity
    an event pixel thresholds) for small changes, stays bounded for large ones, and needs
    no logarithm. Only spans painted in either image can differ; per row they are merged
    so each pixel is visited once. Fills ``idx_out`` (flat pixel index), ``delta_out``
    and ``cum_out`` (running sum of ``|delta|``, for weighted sampling); returns the count.
    """
    width = prev.shape[1]
    eps32 = np.float32(eps)
    runs = np.empty((2 * spans_a.shape[0] + 2 * spans_b.shape[0], 2), dtype=np.int64)
    n = 0
    total = 0.0
    for y in range(prev.shape[0]):
        for r in range(_row_runs(spans_a, spans_b, y, runs)):
            for x in range(runs[r, 0], runs[r, 1]):
                a = prev[y, x, 0]
                b = cur[y, x, 0]
                if a != b:
                    d = (b - a) / (np.float32(0.5) * (a + b) + eps32)
                    idx_out[n] = y * width + x
                    delta_out[n] = d
                    total += abs(d)
                    cum_out[n] = total
                    n += 1
    return n


@njit(cache=True, nogil=True, error_model="numpy")
def to_uint8(img: NDArray[np.float32], out: NDArray[np.uint8]) -> None:
    """Round [0, 1] floats to 8-bit, clipping, in one pass."""
    flat_in = img.reshape(-1)
    flat_out = out.reshape(-1)
    for i in range(flat_in.size):
        v = flat_in[i] * 255.0 + 0.5
        if v < 0.0:
            v = 0.0
        elif v > 255.0:
            v = 255.0
        flat_out[i] = np.uint8(v)
