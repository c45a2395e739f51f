"""DSEC ``events.h5``: exact time windows from the coarse ms index, reads in time order.

Like the official DSEC slicer, ``ms_to_idx`` narrows a window to the millisecond
and a search on ``t`` inside that millisecond finds the exact index, so no
window ever needs more than a millisecond of timestamps to locate.

Every problem with the file (missing, cut, a dataset missing, an index that
contradicts ``t``, unsorted ``t``, events off the sensor) becomes an
:class:`InputError` naming the file, so the build skips this sequence only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import h5py
import hdf5plugin  # noqa: F401  (registers the Blosc filter 32001 with h5py)
import numpy as np
from numpy.typing import NDArray

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH, Events
from egpt_dsec.source.errors import InputError

_REQUIRED = ("events/x", "events/y", "events/p", "events/t", "ms_to_idx")
_FIX = "re-download or re-extract this sequence's events archive"


class EventFile:
    """An open DSEC events file. Counts every event it decodes (for the benchmark)."""

    def __init__(self, path: Path, chunk_cache_bytes: int = 64 * 2**20) -> None:
        self.path = path
        if not path.is_file():
            raise InputError(path, "events file is missing", _FIX)
        try:
            self._file = h5py.File(path, "r", rdcc_nbytes=chunk_cache_bytes, rdcc_nslots=10007)
        except OSError as exc:
            raise InputError(path, f"events file cannot be opened as HDF5 ({exc})", _FIX) from None
        try:
            self._open_datasets()
        except BaseException:
            self._file.close()
            raise
        self.events_decoded = 0  # events read by window scans and streaming reads
        # Where the last read() stopped and its last time: sortedness is also checked
        # across consecutive reads, not only inside each one.
        self._next_start = -1
        self._last_t = 0

    def _open_datasets(self) -> None:
        missing = [name for name in _REQUIRED if name not in self._file]
        if missing:
            raise InputError(self.path, f"missing dataset(s) {missing}", _FIX)
        for name in _REQUIRED:
            node = self._file[name]
            if not isinstance(node, h5py.Dataset) or node.ndim != 1:
                raise InputError(self.path, f"{name} is not a 1-d dataset", _FIX)
        lengths = {self._file[f"events/{k}"].shape[0] for k in "xypt"}
        if len(lengths) != 1:
            raise InputError(self.path, f"events/x,y,p,t differ in length {sorted(lengths)}", _FIX)
        events = self._file["events"]
        self._x, self._y, self._p, self._t = events["x"], events["y"], events["p"], events["t"]
        self.num_events = int(self._t.shape[0])
        self.has_t_offset = "t_offset" in self._file
        with self._reading("ms_to_idx and t_offset"):
            self._ms_to_idx = np.asarray(self._file["ms_to_idx"][()], dtype=np.int64)
            self.t_offset = int(self._file["t_offset"][()]) if self.has_t_offset else 0
        self._check_ms_to_idx()

    def _check_ms_to_idx(self) -> None:
        """Whole-index sanity (starts at 0, never decreases, stays in range): M values, cheap.

        Whether the entries agree with ``events/t`` is checked where they are used, in
        :meth:`index_at`, so no pass over the billions of timestamps is needed.
        """
        ms = self._ms_to_idx
        if not len(ms):
            return
        if ms[0] != 0 or int(ms[-1]) > self.num_events or bool(np.any(ms[1:] < ms[:-1])):
            raise InputError(
                self.path,
                f"ms_to_idx is inconsistent with events/t (it must start at 0, never decrease "
                f"and stay <= {self.num_events}; it runs {int(ms.min())}..{int(ms.max())})",
                _FIX,
            )

    @contextlib.contextmanager
    def _reading(self, what: str) -> Iterator[None]:
        """HDF5 read errors (a corrupt chunk, a cut file) as an InputError naming the file."""
        try:
            yield
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(self.path, f"cannot read {what} ({exc})", _FIX) from None

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> EventFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _relative_t(self, start: int, stop: int) -> NDArray[np.int64]:
        self.events_decoded += stop - start
        with self._reading(f"events/t [{start}, {stop})"):
            return np.asarray(self._t[start:stop], dtype=np.int64)

    def _not_sorted(self, start: int, stop: int) -> InputError:
        return InputError(self.path, f"events/t is not sorted inside [{start}, {stop})", _FIX)

    def index_at(self, times: NDArray[np.int64]) -> NDArray[np.int64]:
        """For each absolute time, the first event index with ``t + t_offset >= time``.

        The ms index gives a range; the index ``i`` found in it is then verified as
        ``t[i-1] < time <= t[i]`` on the values just read (one more event each side), so a
        wrong ``ms_to_idx`` can never silently move a clip boundary.
        """
        rel = np.asarray(times, dtype=np.int64) - self.t_offset
        out = np.empty(len(rel), dtype=np.int64)
        n, last_ms = self.num_events, len(self._ms_to_idx)
        for i, r in enumerate(rel.tolist()):
            if r <= 0 or n == 0:
                out[i] = 0 if r <= 0 else n
                continue
            lo_ms, hi_ms = r // 1000, -(-r // 1000)
            lo = int(self._ms_to_idx[lo_ms]) if lo_ms < last_ms else n
            hi = int(self._ms_to_idx[hi_ms]) if hi_ms < last_ms else n
            first = max(lo - 1, 0)
            t = self._relative_t(first, min(hi + 1, n))
            if len(t) > 1 and bool(np.any(t[1:] < t[:-1])):
                raise self._not_sorted(first, first + len(t))
            idx = lo + int(np.searchsorted(t[lo - first : hi - first], r, side="left"))
            if (idx > 0 and t[idx - 1 - first] >= r) or (idx < n and t[idx - first] < r):
                raise InputError(
                    self.path,
                    f"ms_to_idx is inconsistent with events/t (ms_to_idx[{lo_ms}], "
                    f"ms_to_idx[{hi_ms}] = {lo}, {hi} do not bracket the first event "
                    f"at t >= {r} us)",
                    _FIX,
                )
            out[i] = idx
        return out

    def approx_index_at(self, times: NDArray[np.int64]) -> NDArray[np.int64]:
        """Like :meth:`index_at` from the ms index alone (no timestamps read): exact to the
        millisecond, which is what a plan needs to count a window's events."""
        rel_ms = (np.asarray(times, dtype=np.int64) - self.t_offset) // 1000
        if not len(self._ms_to_idx):
            return np.where(rel_ms < 0, 0, self.num_events).astype(np.int64)
        inside = np.clip(rel_ms, 0, len(self._ms_to_idx) - 1)
        found = self._ms_to_idx[inside]
        return np.where(rel_ms >= len(self._ms_to_idx), self.num_events, found).astype(np.int64)

    def coordinates(self, start: int, stop: int) -> tuple[NDArray[np.uint16], NDArray[np.uint16]]:
        """x and y of events [start, stop), checked against the sensor (half a full read:
        what counting the events that survive rectification needs)."""
        with self._reading(f"events [{start}, {stop})"):
            x = np.asarray(self._x[start:stop], dtype=np.uint16)
            y = np.asarray(self._y[start:stop], dtype=np.uint16)
        if len(x) and (int(x.max()) >= SENSOR_WIDTH or int(y.max()) >= SENSOR_HEIGHT):
            raise InputError(
                self.path,
                f"events [{start}, {stop}) fall outside the {SENSOR_WIDTH}x{SENSOR_HEIGHT} sensor "
                f"(max x {int(x.max())}, max y {int(y.max())})",
                _FIX,
            )
        return x, y

    def read(self, start: int, stop: int) -> Events:
        """Events [start, stop) with absolute int64 timestamps, checked against the sensor."""
        self.events_decoded += stop - start
        x, y = self.coordinates(start, stop)
        with self._reading(f"events [{start}, {stop})"):
            p = np.asarray(self._p[start:stop], dtype=np.uint8)
            t = np.asarray(self._t[start:stop], dtype=np.int64)
        if len(t) > 1 and bool(np.any(t[1:] < t[:-1])):
            raise self._not_sorted(start, stop)
        if len(t):
            if start == self._next_start and int(t[0]) < self._last_t:
                raise self._not_sorted(start - 1, stop)
            self._next_start, self._last_t = stop, int(t[-1])
        t += self.t_offset
        return Events(p=p, t=t, x=x, y=y)
