"""DSEC-layout HDF5 writers: a streaming ``events.h5`` and a ``rectify_map.h5``.

``events.h5`` holds ``events/{x,y,p,t}`` (uint16, uint16, uint8, uint32 relative µs,
sorted), chunked, resizable and Blosc-zstd compressed (HDF5 filter 32001) like the real
files, plus ``ms_to_idx`` (uint64) and the scalar ``t_offset`` (int64).

``ms_to_idx`` has ``M = t[-1] // 1000 + 1`` entries (none when there are no events) and
equals ``np.searchsorted(t, np.arange(M) * 1000, 'left')``: every entry points at a real
event. It is built chunk by chunk: once a chunk's last time reaches ``ms * 1000``, the
first event at or after that time lies in this chunk, since earlier chunks ended before it.

Files carry no timestamps (``track_times=False``), so equal inputs give equal bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np
from numpy.typing import ArrayLike, NDArray

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH
from egpt_dsec.fs import atomic_path, atomic_write_bytes

EVENT_DTYPES: dict[str, np.dtype] = {
    "x": np.dtype(np.uint16),
    "y": np.dtype(np.uint16),
    "p": np.dtype(np.uint8),
    "t": np.dtype(np.uint32),
}
CHUNK_ROWS = 1 << 16  # rows per HDF5 chunk (the real files' chunk shape is unpublished)
WRITE_CHUNKS = 16  # chunks gathered before one aligned write
BLOSC_CLEVEL = 1  # zstd level 5 is ~7x slower for ~7% smaller files


def _compression() -> dict[str, object]:
    return dict(
        hdf5plugin.Blosc(cname="zstd", clevel=BLOSC_CLEVEL, shuffle=hdf5plugin.Blosc.SHUFFLE)
    )


def _as_dtype(values: ArrayLike, dtype: np.dtype, name: str) -> NDArray:
    """``values`` as 1-d ``dtype``; refuses (rather than wraps) values that do not fit."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"events/{name}: expected a 1-d array, got shape {arr.shape}")
    if arr.dtype == dtype:
        return arr
    if arr.size and not np.can_cast(arr.dtype, dtype):
        info = np.iinfo(dtype)
        if arr.dtype.kind not in "iu" or arr.min() < info.min or arr.max() > info.max:
            raise ValueError(f"events/{name}: values of {arr.dtype} do not fit in {dtype}")
    return arr.astype(dtype)


class _MsIndex:
    """Builds ``ms_to_idx`` incrementally from sorted chunks of relative times."""

    def __init__(self) -> None:
        self.parts: list[NDArray[np.uint64]] = []
        self.next_ms = 0

    def add(self, t: NDArray[np.uint32], base: int) -> None:
        if not len(t):
            return
        last_ms = int(t[-1]) // 1000
        if last_ms < self.next_ms:
            return
        bounds = (np.arange(self.next_ms, last_ms + 1, dtype=np.int64) * 1000).astype(np.uint32)
        self.parts.append((np.searchsorted(t, bounds, side="left") + base).astype(np.uint64))
        self.next_ms = last_ms + 1

    def array(self) -> NDArray[np.uint64]:
        return np.concatenate(self.parts) if self.parts else np.zeros(0, dtype=np.uint64)


class _Appender:
    """Gathers rows and appends them to resizable datasets in whole, aligned chunks."""

    def __init__(self, datasets: dict[str, h5py.Dataset], chunk_rows: int) -> None:
        self.datasets = datasets
        self.block = chunk_rows * WRITE_CHUNKS
        self.chunk_rows = chunk_rows
        self.pending: dict[str, list[np.ndarray]] = {name: [] for name in datasets}
        self.held = 0
        self.written = 0

    def append(self, columns: dict[str, np.ndarray]) -> None:
        for name, arr in columns.items():
            self.pending[name].append(arr)
        self.held += len(columns["t"])
        if self.held >= self.block:
            self._write(self.held - self.held % self.chunk_rows)

    def flush(self) -> None:
        if self.held:
            self._write(self.held)

    def _write(self, rows: int) -> None:
        end = self.written + rows
        for name, ds in self.datasets.items():
            data = np.concatenate(self.pending[name])
            ds.resize((end,))
            ds[self.written : end] = data[:rows]
            self.pending[name] = [data[rows:]] if rows < len(data) else []
        self.held -= rows
        self.written = end


def write_events_h5(
    path: Path,
    chunks: Iterable[tuple[ArrayLike, ArrayLike, ArrayLike, ArrayLike]],
    t_offset: int,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Stream ``(x, y, p, t)`` chunks (t relative µs, sorted across chunks) into ``path``.

    Memory stays at about one write block plus one chunk. The file appears under its
    final name only when complete. Returns the number of events written.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    index = _MsIndex()
    last_t = -1
    with atomic_path(Path(path)) as tmp, h5py.File(tmp, "w") as f:
        datasets = {
            name: f.create_dataset(
                f"events/{name}",
                shape=(0,),
                maxshape=(None,),
                dtype=dtype,
                chunks=(chunk_rows,),
                track_times=False,
                **_compression(),
            )
            for name, dtype in EVENT_DTYPES.items()
        }
        appender = _Appender(datasets, chunk_rows)
        for chunk in chunks:
            columns = {
                name: _as_dtype(values, EVENT_DTYPES[name], name)
                for name, values in zip(("x", "y", "p", "t"), chunk, strict=True)
            }
            t = columns["t"]
            if any(len(arr) != len(t) for arr in columns.values()):
                raise ValueError("events chunk: x, y, p and t differ in length")
            if not len(t):
                continue
            if int(t[0]) < last_t or (len(t) > 1 and bool(np.any(t[1:] < t[:-1]))):
                raise ValueError("events chunk: t must be sorted, also across chunks")
            index.add(t, appender.written + appender.held)
            appender.append(columns)
            last_t = int(t[-1])
        appender.flush()
        f.create_dataset("ms_to_idx", data=index.array(), track_times=False)
        f.create_dataset("t_offset", data=np.int64(t_offset), track_times=False)
        return appender.written


def write_rectify_map(path: Path, rectify_map: NDArray[np.float32]) -> None:
    """``rectify_map`` (480, 640, 2) float32, uncompressed so no filter plugin is needed."""
    expected = (SENSOR_HEIGHT, SENSOR_WIDTH, 2)
    if rectify_map.shape != expected:
        raise ValueError(f"rectify_map must have shape {expected}, got {rectify_map.shape}")
    with atomic_path(Path(path)) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("rectify_map", data=rectify_map.astype(np.float32), track_times=False)


def write_cam_to_cam(path: Path, calibration: dict[str, object]) -> None:
    """A ``cam_to_cam.yaml``: block style, keys in DSEC's order, floats written exactly."""
    import yaml

    text = yaml.safe_dump(calibration, sort_keys=False, default_flow_style=None)
    atomic_write_bytes(Path(path), text.encode("utf-8"))
