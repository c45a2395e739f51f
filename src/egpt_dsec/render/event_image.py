"""EventGPT event images: split a clip's events by count, paint each part on a small canvas.

The canvas holds one small value per pixel (a label or a polarity sum), never RGB: the
per-event work is one byte or int32 store, and colors are looked up once per image in
``to_pixels``. Events arrive in time order, possibly over several ``paint`` calls
(streaming); every style gives the same image however the events are chunked.

Polarity: ``p == 0`` is OFF (blue, -1); any other value is ON (red, +1), as in EventGPT's
drawing loop (``if p == 0: blue else: red``). DSEC polarities are always 0 or 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
from numba import njit
from numpy.typing import NDArray

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH, Events

IMAGE_STYLES: tuple[str, ...] = ("last", "red", "blue", "gray")
ImageStyle = Literal["last", "red", "blue", "gray"]

WHITE = (255, 255, 255)
RED = (255, 0, 0)  # ON, p == 1
BLUE = (0, 0, 255)  # OFF, p == 0

# Label canvas (styles last/red/blue). "last" stores the label of the latest event;
# "red"/"blue" OR a bit per polarity seen, so the winner is decided by the lookup table
# at the end and chunk order cannot matter.
LABEL_NONE = 0
LABEL_OFF = 1  # bit 0: an OFF event (blue)
LABEL_ON = 2  # bit 1: an ON event (red)
LABEL_BOTH = LABEL_OFF | LABEL_ON  # only in red/blue canvases

# Label -> RGB, one row per label value 0..3.
_LUTS: dict[str, NDArray[np.uint8]] = {
    "last": np.array([WHITE, BLUE, RED, RED], dtype=np.uint8),  # label 3 never occurs
    "red": np.array([WHITE, BLUE, RED, RED], dtype=np.uint8),  # red wins
    "blue": np.array([WHITE, BLUE, RED, BLUE], dtype=np.uint8),  # blue wins
}

# Gray style (the replaced system's accumulation image): acc = #ON - #OFF at a pixel,
# gray = clip(GRAY_BASE + GRAY_STEP * acc, 0, 255); saved as RGBA with R=G=B=gray, A=255.
# 128 means "no events or balanced"; each net event moves the pixel by 32, so 4 net events
# saturate. The accumulator is int32: no pixel sees 2**31 events in one image.
GRAY_BASE = 128
GRAY_STEP = 32
GRAY_ALPHA = 255


def part_bounds(num_events: int, parts: int) -> list[tuple[int, int]]:
    """EventGPT split by COUNT: k = n // N, part i = [i*k, (i+1)*k), the last part takes the rest.

    With n < N, k == 0: the first N-1 parts are empty and the last holds every event.
    """
    if parts < 1:
        raise ValueError(f"parts must be >= 1, got {parts}")
    if num_events < 0:
        raise ValueError(f"num_events must be >= 0, got {num_events}")
    k = num_events // parts
    bounds = [(i * k, (i + 1) * k) for i in range(parts - 1)]
    bounds.append(((parts - 1) * k, num_events))
    return bounds


@dataclass(frozen=True, eq=False)
class Canvas:
    """One image being painted: a (H, W) plane (uint8 labels, or int32 sums for gray)."""

    style: ImageStyle
    plane: NDArray[Any]  # uint8 labels, or int32 sums for gray

    @property
    def height(self) -> int:
        return int(self.plane.shape[0])

    @property
    def width(self) -> int:
        return int(self.plane.shape[1])

    def clear(self) -> None:
        """Back to an empty image, so one canvas can be reused for the next part."""
        self.plane.fill(0)


def new_canvas(style: str, height: int = SENSOR_HEIGHT, width: int = SENSOR_WIDTH) -> Canvas:
    if style not in IMAGE_STYLES:
        raise ValueError(f"event image style must be one of {IMAGE_STYLES}, got {style!r}")
    if height < 1 or width < 1:
        raise ValueError(f"canvas size must be at least 1x1, got {height}x{width}")
    dtype = np.int32 if style == "gray" else np.uint8
    return Canvas(cast(ImageStyle, style), np.zeros((height, width), dtype=dtype))


# --- kernels --------------------------------------------------------------------------
# Unrolled by 4: on the target CPU the plain loop runs ~220 M events/s, the unrolled one
# ~500 M events/s (benchmarks/bench_render.py). Stores stay in event order, so "last"
# keeps its meaning; OR and + commute anyway. Bounds are checked by the caller.
# An event's label is 1 + (p != 0): LABEL_OFF or LABEL_ON; its gray step is -1 or +1.


@njit(cache=True, nogil=True)
def _paint_last(
    plane: NDArray[Any], x: NDArray[np.uint16], y: NDArray[np.uint16], p: NDArray[np.uint8]
) -> None:
    w = plane.shape[1]
    flat = plane.reshape(-1)
    n = x.shape[0]
    n4 = n - n % 4
    for i in range(0, n4, 4):
        j0 = np.intp(y[i]) * w + np.intp(x[i])
        j1 = np.intp(y[i + 1]) * w + np.intp(x[i + 1])
        j2 = np.intp(y[i + 2]) * w + np.intp(x[i + 2])
        j3 = np.intp(y[i + 3]) * w + np.intp(x[i + 3])
        flat[j0] = np.uint8(1 + (p[i] != 0))
        flat[j1] = np.uint8(1 + (p[i + 1] != 0))
        flat[j2] = np.uint8(1 + (p[i + 2] != 0))
        flat[j3] = np.uint8(1 + (p[i + 3] != 0))
    for i in range(n4, n):
        flat[np.intp(y[i]) * w + np.intp(x[i])] = np.uint8(1 + (p[i] != 0))


@njit(cache=True, nogil=True)
def _paint_seen(
    plane: NDArray[Any], x: NDArray[np.uint16], y: NDArray[np.uint16], p: NDArray[np.uint8]
) -> None:
    w = plane.shape[1]
    flat = plane.reshape(-1)
    n = x.shape[0]
    n4 = n - n % 4
    for i in range(0, n4, 4):
        j0 = np.intp(y[i]) * w + np.intp(x[i])
        j1 = np.intp(y[i + 1]) * w + np.intp(x[i + 1])
        j2 = np.intp(y[i + 2]) * w + np.intp(x[i + 2])
        j3 = np.intp(y[i + 3]) * w + np.intp(x[i + 3])
        flat[j0] |= np.uint8(1 + (p[i] != 0))
        flat[j1] |= np.uint8(1 + (p[i + 1] != 0))
        flat[j2] |= np.uint8(1 + (p[i + 2] != 0))
        flat[j3] |= np.uint8(1 + (p[i + 3] != 0))
    for i in range(n4, n):
        flat[np.intp(y[i]) * w + np.intp(x[i])] |= np.uint8(1 + (p[i] != 0))


@njit(cache=True, nogil=True)
def _paint_sum(
    plane: NDArray[Any], x: NDArray[np.uint16], y: NDArray[np.uint16], p: NDArray[np.uint8]
) -> None:
    w = plane.shape[1]
    flat = plane.reshape(-1)
    n = x.shape[0]
    n4 = n - n % 4
    for i in range(0, n4, 4):
        j0 = np.intp(y[i]) * w + np.intp(x[i])
        j1 = np.intp(y[i + 1]) * w + np.intp(x[i + 1])
        j2 = np.intp(y[i + 2]) * w + np.intp(x[i + 2])
        j3 = np.intp(y[i + 3]) * w + np.intp(x[i + 3])
        flat[j0] += np.int32(2 * np.int32(p[i] != 0) - 1)
        flat[j1] += np.int32(2 * np.int32(p[i + 1] != 0) - 1)
        flat[j2] += np.int32(2 * np.int32(p[i + 2] != 0) - 1)
        flat[j3] += np.int32(2 * np.int32(p[i + 3] != 0) - 1)
    for i in range(n4, n):
        flat[np.intp(y[i]) * w + np.intp(x[i])] += np.int32(2 * np.int32(p[i] != 0) - 1)


_KERNELS = {"last": _paint_last, "red": _paint_seen, "blue": _paint_seen, "gray": _paint_sum}


def paint(
    canvas: Canvas, x: NDArray[np.uint16], y: NDArray[np.uint16], p: NDArray[np.uint8]
) -> None:
    """Paint events (time order, continuing earlier calls) onto ``canvas`` in place.

    Raises ValueError, before painting anything, if an event lies outside the canvas.
    """
    for name, arr, dtype in (("x", x, np.uint16), ("y", y, np.uint16), ("p", p, np.uint8)):
        if arr.dtype != dtype or arr.ndim != 1:
            raise TypeError(f"{name}: expected 1-d {np.dtype(dtype)}, got {arr.dtype} {arr.shape}")
    n = len(x)
    if len(y) != n or len(p) != n:
        raise ValueError(f"x, y, p lengths differ: {n}, {len(y)}, {len(p)}")
    if n == 0:
        return
    max_x = int(x.max())
    if max_x >= canvas.width:
        raise ValueError(f"event x = {max_x} outside the canvas width {canvas.width}")
    max_y = int(y.max())
    if max_y >= canvas.height:
        raise ValueError(f"event y = {max_y} outside the canvas height {canvas.height}")
    _KERNELS[canvas.style](canvas.plane, x, y, p)


def paint_events(canvas: Canvas, events: Events) -> None:
    paint(canvas, events.x, events.y, events.p)


@njit(cache=True, nogil=True)
def _labels_to_rgb(
    plane: NDArray[np.uint8], lut: NDArray[np.uint8], out: NDArray[np.uint8]
) -> None:
    for r in range(plane.shape[0]):
        for c in range(plane.shape[1]):
            v = plane[r, c]
            out[r, c, 0] = lut[v, 0]
            out[r, c, 1] = lut[v, 1]
            out[r, c, 2] = lut[v, 2]


@njit(cache=True, nogil=True)
def _sums_to_rgba(plane: NDArray[np.int32], base: int, step: int, out: NDArray[np.uint8]) -> None:
    for r in range(plane.shape[0]):
        for c in range(plane.shape[1]):
            g = base + step * int(plane[r, c])  # int64 in numba: no overflow for any sum
            g = min(max(g, 0), 255)
            out[r, c, 0] = g
            out[r, c, 1] = g
            out[r, c, 2] = g
            out[r, c, 3] = GRAY_ALPHA


def to_pixels(canvas: Canvas) -> NDArray[np.uint8]:
    """The finished image: (H, W, 3) RGB for last/red/blue, (H, W, 4) RGBA for gray."""
    h, w = canvas.plane.shape
    if canvas.style == "gray":
        rgba = np.empty((h, w, 4), dtype=np.uint8)
        _sums_to_rgba(canvas.plane, GRAY_BASE, GRAY_STEP, rgba)
        return rgba
    rgb = np.empty((h, w, 3), dtype=np.uint8)
    _labels_to_rgb(canvas.plane, _LUTS[canvas.style], rgb)
    return rgb


def render(
    x: NDArray[np.uint16],
    y: NDArray[np.uint16],
    p: NDArray[np.uint8],
    style: str,
    height: int = SENSOR_HEIGHT,
    width: int = SENSOR_WIDTH,
) -> NDArray[np.uint8]:
    """One image from one run of events (no streaming)."""
    canvas = new_canvas(style, height, width)
    paint(canvas, x, y, p)
    return to_pixels(canvas)


class PartPainter:
    """A clip's N count-split images from events that arrive in chunks, one canvas alive.

    The total count must be known up front (the split depends on it). ``feed`` returns the
    images that the chunk completed, as ``(part_index, pixels)`` in order; ``finish``
    checks that every event arrived and returns the rest.
    """

    def __init__(
        self,
        num_events: int,
        parts: int,
        style: str,
        height: int = SENSOR_HEIGHT,
        width: int = SENSOR_WIDTH,
    ) -> None:
        self.bounds = part_bounds(num_events, parts)
        self.num_events = num_events
        self._canvas = new_canvas(style, height, width)
        self._part = 0  # the part being painted
        self._seen = 0  # events fed so far

    def _emit_done(self) -> list[tuple[int, NDArray[np.uint8]]]:
        done = []
        while self._part < len(self.bounds) and self.bounds[self._part][1] <= self._seen:
            done.append((self._part, to_pixels(self._canvas)))
            self._canvas.clear()
            self._part += 1
        return done

    def feed(
        self, x: NDArray[np.uint16], y: NDArray[np.uint16], p: NDArray[np.uint8]
    ) -> list[tuple[int, NDArray[np.uint8]]]:
        n = len(x)
        if self._seen + n > self.num_events:
            raise ValueError(f"fed {self._seen + n} events, expected {self.num_events}")
        done = self._emit_done()  # parts that were complete before (empty ones)
        start = 0
        while start < n:
            end_global = self.bounds[self._part][1]
            stop = min(n, start + (end_global - self._seen))
            paint(self._canvas, x[start:stop], y[start:stop], p[start:stop])
            self._seen += stop - start
            start = stop
            done.extend(self._emit_done())
        return done

    def feed_events(self, events: Events) -> list[tuple[int, NDArray[np.uint8]]]:
        return self.feed(events.x, events.y, events.p)

    def finish(self) -> list[tuple[int, NDArray[np.uint8]]]:
        if self._seen != self.num_events:
            raise ValueError(f"got {self._seen} events, expected {self.num_events}")
        return self._emit_done()
