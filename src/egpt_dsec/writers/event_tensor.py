"""A clip's event tensor as a plain ``.npy``, written bin by bin as the stream passes them.

The file's size and every bin's offset are known from the spec, so the temp sibling is
laid out at once (numpy's own header, then ``bins`` fixed-size bins) and each bin is
written at its place when the accumulator hands it over; ``commit`` checks every bin
arrived and renames the file into place. What is written goes to the disk at once and
leaves the page cache (``fs.WriteBehind``): a 1,000-bin time surface is 1.2 GB.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.fs import WriteBehind, pwrite_all, remove_path, temp_path_for
from egpt_dsec.render.tensor_spec import TensorSpec
from egpt_dsec.render.tensors import tensor_npy_header

SHAPE = (480, 640)  # (height, width): the sensor


class TensorFileWriter:
    """One tensor file: ``write_bin`` in any order, each bin once; then ``commit``."""

    def __init__(self, final_path: Path, spec: TensorSpec) -> None:
        self.final_path, self.spec = final_path, spec
        self._header = tensor_npy_header(spec, *SHAPE)
        self._bin_bytes = spec.bin_nbytes(*SHAPE)
        self._written: set[int] = set()
        self._lock = threading.Lock()
        final_path.parent.mkdir(parents=True, exist_ok=True)
        self.temp_path = temp_path_for(final_path)
        self._fd = os.open(self.temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self._behind = WriteBehind(self._fd)
        try:
            os.ftruncate(self._fd, len(self._header) + spec.bins * self._bin_bytes)
            pwrite_all(self._fd, memoryview(self._header), 0)
        except BaseException:
            self.abort()
            raise

    def write_bin(self, index: int, values: NDArray[Any]) -> None:
        if values.dtype != self.spec.dtype or values.nbytes != self._bin_bytes:
            raise ValueError(f"{self.final_path}: bin {index} is {values.dtype} {values.shape}")
        with self._lock:
            if index in self._written or not 0 <= index < self.spec.bins:
                raise ValueError(f"{self.final_path}: bin {index} twice or out of range")
            self._written.add(index)
        offset = len(self._header) + index * self._bin_bytes
        data = np.ascontiguousarray(values).data.cast("B")
        pwrite_all(self._fd, data, offset)
        self._behind.wrote(offset, len(data))

    def commit(self) -> None:
        missing = self.spec.bins - len(self._written)
        if missing:
            raise ValueError(f"{self.final_path}: {missing} of {self.spec.bins} bins not written")
        try:
            self._behind.finish()
            os.close(self._fd)
            self._fd = -1
            os.replace(self.temp_path, self.final_path)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop the temp file; safe to repeat, and a no-op after commit."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        remove_path(self.temp_path)
