"""The one event array type used from the HDF5 reader to every writer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

SENSOR_WIDTH = 640
SENSOR_HEIGHT = 480

# EventGPT's key order and dtypes; `t` is absolute microseconds (t + t_offset).
EVENT_FIELDS = ("p", "t", "x", "y")
EVENT_DTYPES: dict[str, np.dtype] = {
    "p": np.dtype(np.uint8),
    "t": np.dtype(np.int64),
    "x": np.dtype(np.uint16),
    "y": np.dtype(np.uint16),
}


@dataclass(frozen=True)
class Events:
    """A run of events in time order, as parallel arrays with fixed dtypes."""

    p: NDArray[np.uint8]
    t: NDArray[np.int64]
    x: NDArray[np.uint16]
    y: NDArray[np.uint16]

    def __post_init__(self) -> None:
        n = len(self.t)
        for name in EVENT_FIELDS:
            arr = getattr(self, name)
            if arr.dtype != EVENT_DTYPES[name] or arr.ndim != 1 or len(arr) != n:
                raise ValueError(
                    f"Events.{name}: expected 1-d {EVENT_DTYPES[name]} of length {n}, "
                    f"got {arr.dtype} shape {arr.shape}"
                )

    def __len__(self) -> int:
        return len(self.t)

    def slice(self, start: int, stop: int) -> Events:
        """Events [start, stop) of this run (views, no copy)."""
        return Events(
            self.p[start:stop], self.t[start:stop], self.x[start:stop], self.y[start:stop]
        )

    def as_dict(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in EVENT_FIELDS}

    @staticmethod
    def empty() -> Events:
        return Events(*(np.empty(0, EVENT_DTYPES[name]) for name in EVENT_FIELDS))

    @staticmethod
    def concatenate(runs: list[Events]) -> Events:
        if not runs:
            return Events.empty()
        return Events(*(np.concatenate([getattr(r, name) for r in runs]) for name in EVENT_FIELDS))
