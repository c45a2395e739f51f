"""The live state of one event tensor while a clip streams past (one class per representation).

Every kind cuts the clip into ordered *segments* and keeps the arrays of the bins the
current segment can still change; ``emit(start, stop)`` hands out bins [start, stop) once
the stream reached segment ``stop`` and moves the live arrays on. The integer rules:

- histogram, frames: segment = bin = ((t - t0) * bins) // (t1 - t0); one live plane.
- voxel: segment s = ((t - t0) * (bins - 1)) // (t1 - t0) (0 when bins == 1); an event
  of segment s touches bins s and s + 1, so bins < s are done; two live planes.
  ``voxel:B:norm`` paints into the whole float32 grid and emits every bin at the end,
  normalized over the clip's non-zero cells (DSEC's ``VoxelGrid(normalize=True)``).
- timesurface: surface i holds the events with (t - t0) * bins <= (i + 1) * (t1 - t0)
  (at or before its end time), so an event first shows in surface
  s = max(0, ((t - t0) * bins - 1) // (t1 - t0)); one live state (latest time per cell).
- countframes: segment = EventGPT part of the event's position (``part_bounds``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import chain
from typing import Any

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.events import Events
from egpt_dsec.render import tensor_kernels as kern
from egpt_dsec.render.event_image import part_bounds
from egpt_dsec.render.tensor_spec import TensorSpec

Bin = tuple[int, NDArray[Any]]
FLOAT16_MAX = 65504.0  # voxel sums are clipped to the float16 range, never inf


def zero_bins(first: int, stop: int, shape: tuple[int, ...], dtype: np.dtype) -> Iterator[Bin]:
    """Bins [first, stop) with no events: one shared read-only zero array, so passing many
    empty bins costs one bin of memory."""
    if first < stop:
        zero = np.zeros(shape, dtype=dtype)
        zero.flags.writeable = False
        for b in range(first, stop):
            yield b, zero


class TensorState:
    """Shared geometry; subclasses define the segments, the painting and the emission."""

    def __init__(self, spec: TensorSpec, t0: int, t1: int, num_events: int, hw: tuple[int, int]):
        self.spec = spec
        self.t0 = t0
        self.span = t1 - t0
        self.num_events = num_events
        self.height, self.width = hw
        self.bin_shape = spec.bin_shape(self.height, self.width)

    def segment(self, t: int, pos: int) -> int:
        """The segment of the event at clip position ``pos`` with time ``t``."""
        raise NotImplementedError

    def run_length(self, t: NDArray[np.int64], seg: int, pos: int) -> int:
        """How many leading events of ``t`` (the first at clip position ``pos``) lie in
        segment ``seg``: time kinds bisect for the first time of the next segment."""
        return int(np.searchsorted(t, self.t0 + self.next_start(seg), side="left"))

    def next_start(self, seg: int) -> int:
        """The smallest t - t0 whose segment is beyond ``seg`` (time kinds)."""
        raise NotImplementedError

    def known(self, seen: int) -> int:
        """A segment reached without seeing another event (count kinds); 0 otherwise."""
        return 0

    def paint(self, ev: Events) -> None:
        raise NotImplementedError

    def emit(self, start: int, stop: int) -> Iterator[Bin]:
        """Bins [start, stop), one at a time; the live arrays move on to bin ``stop``."""
        raise NotImplementedError

    def live_arrays(self) -> list[NDArray[Any]]:
        """The arrays held between calls (for the memory bound)."""
        raise NotImplementedError


class _Counts(TensorState):
    """One live uint8 plane of saturating counts; emitting hands the plane out."""

    def __init__(self, spec: TensorSpec, t0: int, t1: int, num_events: int, hw: tuple[int, int]):
        super().__init__(spec, t0, t1, num_events, hw)
        self.plane = np.zeros(self.bin_shape, dtype=spec.dtype)

    def emit(self, start: int, stop: int) -> Iterator[Bin]:
        done, self.plane = self.plane, np.zeros(self.bin_shape, dtype=self.spec.dtype)
        yield start, done
        yield from zero_bins(start + 1, stop, self.bin_shape, self.spec.dtype)

    def paint(self, ev: Events) -> None:
        flat = self.plane.reshape(-1)
        if len(self.bin_shape) == 3:
            kern.count_by_polarity(flat, ev.x, ev.y, ev.p, self.width, self.spec.count_cutoff)
        else:
            kern.count_all(flat, ev.x, ev.y, self.width, self.spec.count_cutoff)

    def live_arrays(self) -> list[NDArray[Any]]:
        return [self.plane]


class TimeCounts(_Counts):
    """histogram (per polarity, saturating at the spec's cutoff) and frames (summed)."""

    def segment(self, t: int, pos: int) -> int:
        return ((t - self.t0) * self.spec.bins) // self.span

    def next_start(self, seg: int) -> int:
        return -((-(seg + 1) * self.span) // self.spec.bins)  # ceil((seg+1) * span / bins)


class CountFrames(_Counts):
    """EventGPT's split by count: k = n // bins, part i = [i*k, (i+1)*k), last takes the rest."""

    def __init__(self, spec: TensorSpec, t0: int, t1: int, num_events: int, hw: tuple[int, int]):
        super().__init__(spec, t0, t1, num_events, hw)
        self.bounds = part_bounds(num_events, spec.bins)

    def segment(self, t: int, pos: int) -> int:
        k = self.num_events // self.spec.bins
        return min(pos // k, self.spec.bins - 1) if k else self.spec.bins - 1

    def known(self, seen: int) -> int:
        return self.spec.bins if seen >= self.num_events else self.segment(0, seen)

    def run_length(self, t: NDArray[np.int64], seg: int, pos: int) -> int:
        return min(len(t), self.bounds[seg][1] - pos)


class Voxel(TensorState):
    """Bins s (``lo``) and s + 1 (``hi``, empty when s is the last bin) in float32."""

    def __init__(self, spec: TensorSpec, t0: int, t1: int, num_events: int, hw: tuple[int, int]):
        super().__init__(spec, t0, t1, num_events, hw)
        self.scale = spec.bins - 1
        self.seg = 0
        self.lo = self._plane(0)
        self.hi = self._plane(1)

    def _plane(self, b: int) -> NDArray[np.float32]:
        size = self.height * self.width if b < self.spec.bins else 0
        return np.zeros(size, dtype=np.float32)

    def segment(self, t: int, pos: int) -> int:
        return ((t - self.t0) * self.scale) // self.span

    def next_start(self, seg: int) -> int:
        if self.scale == 0:
            return self.span  # one segment: no event reaches t1
        return -((-(seg + 1) * self.span) // self.scale)

    def paint(self, ev: Events) -> None:
        """``ev``: events of one segment (``TensorAccumulator`` cuts runs at segments)."""
        base = self.t0 * self.scale + self.segment(int(ev.t[0]), 0) * self.span
        kern.voxel_add(
            self.lo, self.hi, (ev.x, ev.y, ev.p, ev.t), self.scale, self.span, self.width, base
        )

    def _half(self, plane: NDArray[np.float32]) -> NDArray[np.float16]:
        np.clip(plane, -FLOAT16_MAX, FLOAT16_MAX, out=plane)  # the plane is done with
        return plane.astype(self.spec.dtype).reshape(self.bin_shape)

    def emit(self, start: int, stop: int) -> Iterator[Bin]:
        lo, hi = self.lo, self.hi
        self.lo = hi if stop == start + 1 else self._plane(stop)
        self.hi = self._plane(stop + 1)
        yield start, self._half(lo)
        if start + 1 < stop:
            yield start + 1, self._half(hi)
        yield from zero_bins(start + 2, stop, self.bin_shape, self.spec.dtype)

    def live_arrays(self) -> list[NDArray[Any]]:
        return [self.lo, self.hi]


class NormalizedVoxel(Voxel):
    """``voxel:B:norm``: the mean and deviation of the non-zero cells need the whole grid,
    so the live planes are rows of the clip's float32 grid (B x H x W x 4 bytes) and every
    bin comes out at the end of the clip."""

    def __init__(self, spec: TensorSpec, t0: int, t1: int, num_events: int, hw: tuple[int, int]):
        # Before Voxel.__init__, which takes its first planes from ``_plane``.
        self.grid = np.zeros((spec.bins, hw[0] * hw[1]), dtype=np.float32)
        super().__init__(spec, t0, t1, num_events, hw)

    def _plane(self, b: int) -> NDArray[np.float32]:
        return self.grid[b] if b < self.spec.bins else super()._plane(b)

    def emit(self, start: int, stop: int) -> Iterator[Bin]:
        self.lo, self.hi = self._plane(stop), self._plane(stop + 1)
        if stop == self.spec.bins:
            yield from normalized_bins(self.grid, self.bin_shape, self.spec.dtype)

    def live_arrays(self) -> list[NDArray[Any]]:
        return [self.grid]


def normalized_bins(
    grid: NDArray[np.float32], shape: tuple[int, ...], dtype: np.dtype
) -> Iterator[Bin]:
    """Each non-zero cell v becomes (v - mean) / std over the grid's n non-zero cells (std
    with n - 1, as torch's; v - mean where std is 0 or n is 1), zero cells stay 0. The
    sums are exact (``math.fsum``), the rest float64 (one bin at a time), then clipped to
    the float16 range and rounded to float16."""

    def nonzero(row: NDArray[np.float32]) -> NDArray[np.float64]:
        return row[row != 0].astype(np.float64)

    n = int(np.count_nonzero(grid))
    mean = math.fsum(chain.from_iterable(nonzero(r).tolist() for r in grid)) / n if n else 0.0
    squares = chain.from_iterable(np.square(nonzero(r) - mean).tolist() for r in grid)
    std = math.sqrt(math.fsum(squares) / (n - 1)) if n > 1 else 0.0
    for b, row in enumerate(grid):
        out = np.zeros(row.shape, dtype=np.float64)
        cells = row != 0
        out[cells] = row[cells].astype(np.float64) - mean
        if std > 0:
            out[cells] /= std
        np.clip(out, -FLOAT16_MAX, FLOAT16_MAX, out=out)
        yield b, out.astype(dtype).reshape(shape)


class TimeSurface(TensorState):
    """The latest t - t0 per (polarity, y, x), -1 where none; surfaces decay from it."""

    def __init__(self, spec: TensorSpec, t0: int, t1: int, num_events: int, hw: tuple[int, int]):
        super().__init__(spec, t0, t1, num_events, hw)
        self.last = np.full(2 * self.height * self.width, -1, dtype=np.int64)
        # exp(-(t_end - t_last) / tau) = exp(-A / q), A = (i+1)*span - (t_last - t0)*bins:
        # tau = span / bins (default) gives q = span, an explicit tau q = bins * tau.
        tau = spec.tau_us
        self.q = self.span if tau is None else spec.bins * tau

    def segment(self, t: int, pos: int) -> int:
        return max(0, ((t - self.t0) * self.spec.bins - 1) // self.span)

    def next_start(self, seg: int) -> int:
        return (seg + 1) * self.span // self.spec.bins + 1

    def paint(self, ev: Events) -> None:
        kern.stamp_latest(self.last, ev.x, ev.y, ev.p, ev.t, self.t0, self.width)

    def emit(self, start: int, stop: int) -> Iterator[Bin]:
        for i in range(start, stop):
            surface = np.empty(self.bin_shape, dtype=self.spec.dtype)
            bits = surface.reshape(-1).view(np.uint16)
            kern.decay(self.last, bits, (i + 1) * self.span, self.spec.bins, self.q)
            yield i, surface

    def live_arrays(self) -> list[NDArray[Any]]:
        return [self.last]


def state_type(spec: TensorSpec) -> type[TensorState]:
    """The state class of ``spec``."""
    return NormalizedVoxel if spec.normalize else STATES[spec.name]


STATES: dict[str, type[TensorState]] = {
    "voxel": Voxel,
    "histogram": TimeCounts,
    "frames": TimeCounts,
    "countframes": CountFrames,
    "timesurface": TimeSurface,
}
