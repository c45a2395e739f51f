"""How far a frame is off its events: one mean offset, from edge maps, to a fraction of a pixel.

Events fire on moving edges; a frame's edges are where its brightness changes. Both are
turned into edge maps, blurred a little (so the correlation peak is smooth), windowed
(so the image borders do not correlate) and cross-correlated through the FFT; the peak,
refined by a Gaussian fit through its neighbours, is the offset. For verify and the
preview: a clip whose offset is many pixels is not aligned.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

BLUR_SIGMA = 1.5  # px: wider than the sub-pixel error of either map, narrower than shapes
MAX_OFFSET = 64  # px searched in each direction
_TINY = 1e-12


def event_edges(events: NDArray) -> NDArray[np.float64]:
    """An edge map from an event image (RGB: any non-white pixel) or a 2-d count map."""
    arr = np.asarray(events)
    if arr.ndim == 3:
        return np.any(arr[..., :3] != 255, axis=2).astype(np.float64)
    if arr.ndim == 2:
        return (arr != 0).astype(np.float64)
    raise ValueError(f"expected an RGB event image or a 2-d count map, got shape {arr.shape}")


def frame_edges(rgb: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Gradient magnitude of the frame's luminance (Sobel), in [0, ~1]."""
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float64) / 255.0
    gx = cv2.Sobel(gray, cv2.CV_64F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_64F, 0, 1, ksize=3)
    return np.hypot(gx, gy)


def _prepare(edges: NDArray[np.float64], window: NDArray[np.float64]) -> NDArray[np.float64]:
    blurred = cv2.GaussianBlur(edges, (0, 0), BLUR_SIGMA)
    centred = (blurred - blurred.mean()) * window
    return centred / (np.linalg.norm(centred) + _TINY)


def _peak_offset(values: NDArray[np.float64]) -> float:
    """Sub-pixel position of the middle of three samples: the vertex of a fitted Gaussian
    (a parabola through their logarithms), or of a parabola if any is not positive."""
    a, b, c = values
    if min(a, b, c) > 0:
        a, b, c = np.log(a), np.log(b), np.log(c)
    denom = a - 2 * b + c
    return 0.0 if abs(denom) < _TINY else float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5))


def correlate_offset(
    reference: NDArray[np.float64], moving: NDArray[np.float64], max_offset: int = MAX_OFFSET
) -> tuple[float, float]:
    """(dx, dy) such that ``moving(p + d)`` best matches ``reference(p)``: content at p in
    the reference is found at p + d in the moving map. Both maps have one shape."""
    if reference.shape != moving.shape or reference.ndim != 2:
        raise ValueError(f"edge maps must be 2-d and alike, got {reference.shape}, {moving.shape}")
    h, w = reference.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    a, b = _prepare(reference, window), _prepare(moving, window)
    corr = np.fft.irfft2(np.conj(np.fft.rfft2(a)) * np.fft.rfft2(b), s=(h, w))
    corr = np.fft.fftshift(corr)  # offset 0 at (h // 2, w // 2)
    cy, cx = h // 2, w // 2
    reach_y, reach_x = min(max_offset, cy - 1), min(max_offset, cx - 1)
    search = corr[cy - reach_y : cy + reach_y + 1, cx - reach_x : cx + reach_x + 1]
    py, px = np.unravel_index(int(np.argmax(search)), search.shape)
    py, px = py + cy - reach_y, px + cx - reach_x
    dx = px - cx + _peak_offset(corr[py, px - 1 : px + 2])
    dy = py - cy + _peak_offset(corr[py - 1 : py + 2, px])
    return float(dx), float(dy)


def measure_offset(events: NDArray, frame_rgb: NDArray[np.uint8]) -> tuple[float, float]:
    """Mean (dx, dy) of the frame's edges relative to the events' edges, in pixels.

    ``events`` is an event image or count map of the frame's size (e.g. 640x480, the
    events just around the frame time); ``frame_rgb`` the frame in the same image
    space (resized or warped to it). (0, 0) means aligned.
    """
    return correlate_offset(event_edges(events), frame_edges(frame_rgb))
