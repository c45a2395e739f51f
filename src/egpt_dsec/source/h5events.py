"""DSEC ``events.h5``: exact time windows from the coarse ms index, reads in time order.

Like the official DSEC slicer, ``ms_to_idx`` narrows a window to the millisecond
and a search on ``t`` inside that millisecond finds the exact index, so no
window ever needs more than a millisecond of timestamps to locate.
"""

from __future__ import annotations

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
            self._check_layout()
        except BaseException:
            self._file.close()
            raise
        events = self._file["events"]
        self._x, self._y, self._p, self._t = events["x"], events["y"], events["p"], events["t"]
        self._ms_to_idx = np.asarray(self._file["ms_to_idx"][()], dtype=np.int64)
        self.num_events = int(self._t.shape[0])
        self.t_offset = int(self._file["t_offset"][()]) if "t_offset" in self._file else 0
        self.has_t_offset = "t_offset" in self._file
        self.events_decoded = 0  # events read by window scans and streaming reads

    def _check_layout(self) -> None:
        missing = [name for name in _REQUIRED if name not in self._file]
        if missing:
            raise InputError(self.path, f"missing dataset(s) {missing}", _FIX)
        lengths = {self._file[f"events/{k}"].shape[0] for k in "xypt"}
        if len(lengths) != 1:
            raise InputError(self.path, f"events/x,y,p,t differ in length {sorted(lengths)}", _FIX)

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
        return np.asarray(self._t[start:stop], dtype=np.int64)

    def index_at(self, times: NDArray[np.int64]) -> NDArray[np.int64]:
        """For each absolute time, the first event index with ``t + t_offset >= time``."""
        rel = np.asarray(times, dtype=np.int64) - self.t_offset
        out = np.empty(len(rel), dtype=np.int64)
        last_ms = len(self._ms_to_idx)
        for i, r in enumerate(rel):
            if r <= 0:
                out[i] = 0
                continue
            lo_ms, hi_ms = r // 1000, -(-r // 1000)
            if lo_ms >= last_ms:
                out[i] = self.num_events
                continue
            lo = int(self._ms_to_idx[lo_ms])
            hi = int(self._ms_to_idx[hi_ms]) if hi_ms < last_ms else self.num_events
            out[i] = lo + int(np.searchsorted(self._relative_t(lo, hi), r, side="left"))
        return out

    def read(self, start: int, stop: int) -> Events:
        """Events [start, stop) with absolute int64 timestamps, checked against the sensor."""
        self.events_decoded += stop - start
        x = np.asarray(self._x[start:stop], dtype=np.uint16)
        y = np.asarray(self._y[start:stop], dtype=np.uint16)
        p = np.asarray(self._p[start:stop], dtype=np.uint8)
        t = np.asarray(self._t[start:stop], dtype=np.int64)
        if len(t) and (int(x.max()) >= SENSOR_WIDTH or int(y.max()) >= SENSOR_HEIGHT):
            raise InputError(
                self.path,
                f"events [{start}, {stop}) fall outside the {SENSOR_WIDTH}x{SENSOR_HEIGHT} sensor "
                f"(max x {int(x.max())}, max y {int(y.max())})",
                _FIX,
            )
        if len(t) > 1 and np.any(np.diff(t) < 0):
            raise InputError(self.path, f"events/t is not sorted inside [{start}, {stop})", _FIX)
        t += self.t_offset
        return Events(p=p, t=t, x=x, y=y)
