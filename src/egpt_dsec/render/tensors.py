"""Event tensors of a clip, built in one streaming pass with a couple of bins in memory.

A clip is the window [t0, t1) of ``num_events`` events in time order, fed in chunks.
``TensorAccumulator.feed`` returns each bin as soon as the stream has passed it, in bin
order, every bin exactly once (empty bins as zeros); ``finish`` returns the rest. The
definitions (exact integer binning, the float formulas, the dtypes) are in
docs/tensors.md; the kinds are in :mod:`egpt_dsec.render.tensor_states`, their loops in
:mod:`egpt_dsec.render.tensor_kernels`.

Files are plain ``.npy`` (version 1.0, no pickle) of the whole (bins, ...) array: the
header of ``tensor_npy_header`` then bin b at ``len(header) + b * spec.bin_nbytes(H, W)``,
so a writer can place each bin as it is emitted and ``np.load`` reads the result.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH, Events
from egpt_dsec.render import tensor_kernels as kern
from egpt_dsec.render.tensor_spec import TensorSpec
from egpt_dsec.render.tensor_states import Bin, state_type

# (t - t0) * bins must fit int64 for every event of the window.
_MAX_SCALED = 2**62


class TensorAccumulator:
    """One tensor of one clip, from events that arrive in chunks (like ``PartPainter``).

    ``feed(offset, events)`` takes the clip's events [offset, offset + len(events)), in
    order and inside [t0, t1); it returns the bins the chunk completed as
    ``(bin_index, array)`` with ``array.shape == spec.bin_shape(height, width)`` and
    ``array.dtype == spec.dtype``. Time bins complete when a later event arrives (or at
    ``finish``); count bins (countframes) as soon as their last event is fed.

    ``feed_iter``/``finish_iter`` yield the same bins one at a time, so even a chunk (or a
    single event) that passes hundreds of bins keeps one emitted bin alive: the memory is
    the live arrays (``live_arrays``, at most two) plus one bin, whatever the clip.
    """

    def __init__(
        self,
        spec: TensorSpec,
        t0: int,
        t1: int,
        num_events: int,
        height: int = SENSOR_HEIGHT,
        width: int = SENSOR_WIDTH,
    ) -> None:
        if t1 <= t0:
            raise ValueError(f"empty window: t1 = {t1} <= t0 = {t0}")
        if (t1 - t0) * spec.bins >= _MAX_SCALED:
            raise ValueError(f"window {t1 - t0} us x {spec.bins} bins overflows int64")
        if num_events < 0 or height < 1 or width < 1:
            raise ValueError(f"bad clip: {num_events} events, {height}x{width} sensor")
        self.spec = spec
        self.t0, self.t1 = int(t0), int(t1)
        self.num_events = num_events
        self.height, self.width = height, width
        self._kind = state_type(spec)(spec, self.t0, self.t1, num_events, (height, width))
        self._seg = 0  # bins < _seg have been emitted
        self._seen = 0  # events fed so far
        self._last_t = self.t0  # time of the last event fed
        self._busy = False  # a feed_iter/finish_iter whose bins are not all taken

    def _advance(self, seg: int) -> Iterator[Bin]:
        if seg > self._seg:
            start, self._seg = self._seg, seg
            yield from self._kind.emit(start, seg)

    def _check(self, offset: int, events: Events) -> None:
        if self._busy:
            raise RuntimeError("the bins of the previous feed_iter/finish_iter were not all taken")
        n = len(events)
        if offset != self._seen:
            raise ValueError(f"events fed at offset {offset}, expected {self._seen}")
        if self._seen + n > self.num_events:
            raise ValueError(f"fed {self._seen + n} events, expected {self.num_events}")
        lo = max(self._last_t, self.t0)
        bad = kern.check_events(events.t, events.x, events.y, lo, self.t1, self.width, self.height)
        if bad >= 0:
            raise ValueError(
                f"event {offset + bad} (t={events.t[bad]}, x={events.x[bad]}, y={events.y[bad]}) "
                f"is out of order, outside [{self.t0}, {self.t1}) or outside the "
                f"{self.width}x{self.height} sensor"
            )

    def _run(self, events: Events) -> Iterator[Bin]:
        yield from self._advance(self._kind.known(self._seen))
        i, n = 0, len(events)
        while i < n:
            seg = self._kind.segment(int(events.t[i]), self._seen)
            yield from self._advance(seg)
            stop = i + self._kind.run_length(events.t[i:], seg, self._seen)
            self._kind.paint(events.slice(i, stop))
            self._seen += stop - i
            i = stop
            yield from self._advance(self._kind.known(self._seen))
        self._busy = False

    def feed_iter(self, offset: int, events: Events) -> Iterator[Bin]:
        """Like ``feed``, one bin at a time: the chunk is painted as the bins are taken,
        so at most one emitted bin is alive. Take them all before the next call."""
        self._check(offset, events)
        if len(events):
            self._last_t = int(events.t[-1])
        self._busy = True
        return self._run(events)

    def feed(self, offset: int, events: Events) -> list[Bin]:
        """The bins this chunk completed, in order. Arrays of empty bins may be one shared
        read-only zero array; treat every emitted array as read-only."""
        return list(self.feed_iter(offset, events))

    def finish_iter(self) -> Iterator[Bin]:
        if self._busy:
            raise RuntimeError("the bins of the previous feed_iter/finish_iter were not all taken")
        if self._seen != self.num_events:
            raise ValueError(f"got {self._seen} events, expected {self.num_events}")
        self._busy = True
        return self._release(self._advance(self.spec.bins))

    def _release(self, bins: Iterator[Bin]) -> Iterator[Bin]:
        yield from bins
        self._busy = False

    def finish(self) -> list[Bin]:
        """The bins not emitted yet; checks that every event arrived."""
        return list(self.finish_iter())

    def live_arrays(self) -> list[NDArray[Any]]:
        """The arrays this accumulator keeps between calls (the memory it holds)."""
        return self._kind.live_arrays()


def tensor_npy_header(
    spec: TensorSpec, height: int = SENSOR_HEIGHT, width: int = SENSOR_WIDTH
) -> bytes:
    """The .npy v1.0 header of the whole tensor (numpy's own writer; C order, no pickle)."""
    buf = io.BytesIO()
    header = {
        "descr": np.lib.format.dtype_to_descr(spec.dtype),
        "fortran_order": False,
        "shape": spec.shape(height, width),
    }
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue()


def tensor_file_size(
    spec: TensorSpec, height: int = SENSOR_HEIGHT, width: int = SENSOR_WIDTH
) -> int:
    """Bytes of the whole .npy file: header + bins * bin bytes."""
    header = len(tensor_npy_header(spec, height, width))
    return header + spec.bins * spec.bin_nbytes(height, width)


def tensor_bytes(
    spec: TensorSpec,
    events: Events,
    t0: int,
    t1: int,
    height: int = SENSOR_HEIGHT,
    width: int = SENSOR_WIDTH,
) -> bytes:
    """The whole .npy file of one clip, built in memory through ``TensorAccumulator``."""
    acc = TensorAccumulator(spec, t0, t1, len(events), height, width)
    parts = [tensor_npy_header(spec, height, width)]
    for index, (b, arr) in enumerate([*acc.feed(0, events), *acc.finish()]):
        if b != index or arr.shape != spec.bin_shape(height, width) or arr.dtype != spec.dtype:
            raise RuntimeError(f"bin {index}: got bin {b} {arr.dtype} {arr.shape}")
        parts.append(arr.tobytes())
    if len(parts) != spec.bins + 1:
        raise RuntimeError(f"{spec.text}: {len(parts) - 1} bins emitted, expected {spec.bins}")
    return b"".join(parts)
