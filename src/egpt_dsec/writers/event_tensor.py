"""A clip's event tensor as a plain ``.npy``, written bin by bin as the stream passes them.

The file's size and every bin's offset are known from the spec, so the temp sibling is
laid out at once (numpy's own header, then ``bins`` fixed-size bins) and each bin is
written at its place when the accumulator hands it over; ``commit`` checks every bin
arrived and renames the file into place. What is written goes to the disk at once and
leaves the page cache (``fs.WriteBehind``): a 1,000-bin time surface is 1.2 GB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.render.tensor_spec import TensorSpec
from egpt_dsec.render.tensors import tensor_npy_header
from egpt_dsec.writers.sized_file import SizedFile

SHAPE = (480, 640)  # (height, width): the sensor


class TensorFileWriter(SizedFile):
    """One tensor file: ``write_bin`` in any order, each bin once; then ``commit``."""

    def __init__(self, final_path: Path, spec: TensorSpec) -> None:
        self.spec = spec
        self._header = tensor_npy_header(spec, *SHAPE)
        self._bin_bytes = spec.bin_nbytes(*SHAPE)
        self._written: set[int] = set()
        size = len(self._header) + spec.bins * self._bin_bytes
        super().__init__(final_path, size, ((0, self._header),))

    def write_bin(self, index: int, values: NDArray[Any]) -> None:
        if values.dtype != self.spec.dtype or values.nbytes != self._bin_bytes:
            raise ValueError(f"{self.final_path}: bin {index} is {values.dtype} {values.shape}")
        with self._lock:
            self._require_open()
            if index in self._written or not 0 <= index < self.spec.bins:
                raise ValueError(f"{self.final_path}: bin {index} twice or out of range")
            self._written.add(index)
            data = np.ascontiguousarray(values).data.cast("B")
            try:
                self._put(data, len(self._header) + index * self._bin_bytes)
            except BaseException:
                self._failed()
                raise

    def _missing(self) -> str | None:
        missing = self.spec.bins - len(self._written)
        return f"{missing} of {self.spec.bins} bins not written" if missing else None
