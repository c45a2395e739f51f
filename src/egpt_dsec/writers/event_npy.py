"""Streaming writer for EventGPT event ``.npy`` files.

EventGPT reads a clip with ``np.array(np.load(path, allow_pickle=True)).item()``:
a ``.npy`` holding a 0-d object array that wraps a dict of event arrays and
metadata. ``np.save`` would need the whole clip in memory (a 16 s clip can hold
400 million events, ~5.2 GB), so this module writes the same pickle by hand.
Because the event count is known up front, every byte offset is known up front:
the header and pickle opcodes are written once, and event chunks are written
into their raw-data regions (``os.pwrite``) in any order. What is written goes to the
disk at once and leaves the page cache (``fs.WriteBehind``): a build writes terabytes
nobody reads back soon.

The pickle opcodes come from ``writers.npy_pickle``.
"""

from __future__ import annotations

import operator
import pickle
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from egpt_dsec.events import EVENT_DTYPES, EVENT_FIELDS, Events
from egpt_dsec.fs import le_bytes
from egpt_dsec.plan.clips import Clip
from egpt_dsec.writers.npy_pickle import (
    ARRAY_SUFFIX,
    OBJECT_DTYPE_REDUCE,
    array_start,
    event_array_prefix,
    npy_object_header,
    pickle_dtype,
    pickle_int,
    pickle_str,
    pickle_tuple,
    pickle_value,
)
from egpt_dsec.writers.sized_file import SizedFile

_METADATA_KEYS = (
    "time_start",
    "time_end",
    "duration_ms",
    "image_timestamp",
    "image_idx",
    "image_indices_in_clip",
    "num_events",
)


@dataclass(frozen=True)
class ClipMetadata:
    """The per-clip metadata EventGPT's original scripts stored next to the events."""

    time_start: int
    time_end: int
    duration_ms: int
    image_timestamp: int
    image_idx: int
    image_indices_in_clip: tuple[int, ...]
    num_events: int

    def __post_init__(self) -> None:
        # Plain ints only: numpy scalars would pickle as numpy globals.
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "image_indices_in_clip":
                normalized: Any = tuple(operator.index(v) for v in value)
            else:
                normalized = operator.index(value)
            object.__setattr__(self, f.name, normalized)
        if self.num_events < 0:
            raise ValueError(f"ClipMetadata.num_events must be >= 0, got {self.num_events}")

    @staticmethod
    def of(clip: Clip, num_events: int) -> ClipMetadata:
        """The metadata of a planned clip holding ``num_events`` events."""
        return ClipMetadata(
            time_start=clip.t0,
            time_end=clip.t1,
            duration_ms=clip.duration.ms,
            image_timestamp=clip.t1,
            image_idx=clip.image_idx,
            image_indices_in_clip=tuple(clip.frame_indices),
            num_events=num_events,
        )

    def as_dict(self) -> dict[str, Any]:
        """Metadata in EventGPT's key order, with a list for the image indices."""
        d: dict[str, Any] = {key: getattr(self, key) for key in _METADATA_KEYS}
        d["image_indices_in_clip"] = list(self.image_indices_in_clip)
        return d


# ---------------------------------------------------------------------------
# File layout: static byte pieces around one raw-data region per event field.


@dataclass(frozen=True)
class _Region:
    """Where one event field's raw little-endian data lives in the file."""

    name: str
    offset: int
    itemsize: int


@dataclass(frozen=True)
class _Layout:
    """Every byte of the file that does not depend on the events, with offsets."""

    static: tuple[tuple[int, bytes], ...]
    regions: tuple[_Region, ...]
    num_events: int
    size: int

    @staticmethod
    def for_meta(meta: ClipMetadata) -> _Layout:
        n = meta.num_events
        static: list[tuple[int, bytes]] = []
        regions: list[_Region] = []
        pending = bytearray(npy_object_header())
        pending += pickle.PROTO + bytes([4])
        pending += array_start() + pickle.MARK + pickle_int(1) + pickle_tuple(())
        pending += pickle_dtype(*OBJECT_DTYPE_REDUCE) + pickle.NEWFALSE
        pending += pickle.EMPTY_LIST + pickle.EMPTY_DICT + pickle.MARK
        pos = 0
        for name in EVENT_FIELDS:
            dtype = EVENT_DTYPES[name]
            pending += pickle_str(name) + event_array_prefix(dtype, n)
            static.append((pos, bytes(pending)))
            pos += len(pending)
            regions.append(_Region(name, pos, dtype.itemsize))
            pos += n * dtype.itemsize
            pending = bytearray(ARRAY_SUFFIX)
        for key, value in meta.as_dict().items():
            pending += pickle_str(key) + pickle_value(value)
        pending += pickle.SETITEMS + pickle.APPEND + pickle.TUPLE + pickle.BUILD + pickle.STOP
        static.append((pos, bytes(pending)))
        return _Layout(tuple(static), tuple(regions), n, pos + len(pending))


def npy_file_size(meta: ClipMetadata) -> int:
    """The exact size of the clip's file, known before any event (for ``plan``)."""
    return _Layout.for_meta(meta).size


def event_npy_bytes(events: Events, meta: ClipMetadata) -> bytes:
    """The whole file in memory, byte-identical to what EventNpyWriter produces."""
    layout = _Layout.for_meta(meta)
    if len(events) != layout.num_events:
        raise ValueError(f"{len(events)} events given, metadata says {layout.num_events}")
    out = bytearray(layout.size)
    for pos, piece in layout.static:
        out[pos : pos + len(piece)] = piece
    for region in layout.regions:
        data = le_bytes(getattr(events, region.name))
        out[region.offset : region.offset + len(data)] = data
    return bytes(out)


# ---------------------------------------------------------------------------
# Streaming writer.


class _Coverage:
    """Disjoint covered ranges of [0, n), merged; rejects overlap and out-of-range."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.covered = 0
        self._ranges: list[list[int]] = []  # sorted, disjoint, non-adjacent [start, end)

    def add(self, start: int, stop: int) -> None:
        if start < 0 or stop > self.n or start > stop:
            raise ValueError(f"events [{start}, {stop}) out of range [0, {self.n})")
        if start == stop:
            return
        i = self._insertion_index(start)
        prev = self._ranges[i - 1] if i > 0 else None
        nxt = self._ranges[i] if i < len(self._ranges) else None
        if prev is not None and prev[1] > start:
            raise ValueError(f"events [{start}, {stop}) overlap written [{prev[0]}, {prev[1]})")
        if nxt is not None and nxt[0] < stop:
            raise ValueError(f"events [{start}, {stop}) overlap written [{nxt[0]}, {nxt[1]})")
        self._merge(i, prev, nxt, start, stop)
        self.covered += stop - start

    def _insertion_index(self, start: int) -> int:
        lo, hi = 0, len(self._ranges)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._ranges[mid][0] <= start:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _merge(
        self, i: int, prev: list[int] | None, nxt: list[int] | None, start: int, stop: int
    ) -> None:
        joins_prev = prev is not None and prev[1] == start
        joins_next = nxt is not None and nxt[0] == stop
        if joins_prev and joins_next:
            assert prev is not None and nxt is not None
            prev[1] = nxt[1]
            del self._ranges[i]
        elif joins_prev:
            assert prev is not None
            prev[1] = stop
        elif joins_next:
            assert nxt is not None
            nxt[0] = start
        else:
            self._ranges.insert(i, [start, stop])

    def complete(self) -> bool:
        return self.covered == self.n

    def gaps(self, limit: int = 5) -> list[tuple[int, int]]:
        """The first few missing ranges, for error messages."""
        out: list[tuple[int, int]] = []
        pos = 0
        for start, stop in [*self._ranges, [self.n, self.n]]:
            if start > pos:
                out.append((pos, start))
                if len(out) == limit:
                    break
            pos = stop
        return out


class EventNpyWriter(SizedFile):
    """Write one clip's event .npy in chunks, in any order, then publish it atomically.

    The header and pickle opcodes are in place from the start; ``write`` puts events at
    their positions; ``commit`` checks every position was written exactly once.
    """

    def __init__(self, final_path: Path, meta: ClipMetadata) -> None:
        self.meta = meta
        self._layout = _Layout.for_meta(meta)
        self._coverage = _Coverage(meta.num_events)
        super().__init__(final_path, self._layout.size, self._layout.static)

    def write(self, offset: int, events: Events) -> None:
        """Write ``events`` at event positions ``[offset, offset + len(events))``."""
        with self._lock:
            self._require_open()
            self._coverage.add(offset, offset + len(events))
            try:
                for region in self._layout.regions:
                    data = le_bytes(getattr(events, region.name))
                    self._put(data, region.offset + offset * region.itemsize)
            except BaseException:
                self._failed()  # positions are marked written but may not be
                raise

    def _missing(self) -> str | None:
        if self._coverage.complete():
            return None
        n, missing = self._coverage.n, self._coverage.n - self._coverage.covered
        return f"{missing} of {n} events not written (first gaps {self._coverage.gaps()})"
