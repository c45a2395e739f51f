"""A sequence's labelled boxes as columns, in one view, and the rows of a clip window.

DSEC-Detection's ``tracks.npy`` gives each box as its top-left corner and size
(``x, y, w, h``) in pixels of the 640x480 event view. Here a box is its corners
``x0 = x, y0 = y, x1 = x + w, y1 = y + h`` (float64: exact for float32 inputs), clipped
to the image ``[0, 640] x [0, 480]``; a box with nothing left inside is dropped. Rows are
sorted by label time, then track id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH

# tracks.npy as DSEC-Detection writes it (``synth`` writes the same); older releases have
# float64 x and y, some an extra ``img_name``.
TRACKS_DTYPE = np.dtype(
    [
        ("t", "<u8"),
        ("x", "<f4"),
        ("y", "<f4"),
        ("w", "<f4"),
        ("h", "<f4"),
        ("class_id", "u1"),
        ("class_confidence", "<f4"),
        ("track_id", "<u4"),
    ]
)
# The boxes as label-qa keeps them beside the output: corners, clipped, in the build's view.
STORE_DTYPE = np.dtype(
    [
        ("t", "<u8"),
        ("x0", "<f8"),
        ("y0", "<f8"),
        ("x1", "<f8"),
        ("y1", "<f8"),
        ("class_id", "u1"),
        ("track_id", "<u4"),
    ]
)
_CORNERS = ("x0", "y0", "x1", "y1")


@dataclass(frozen=True, eq=False)
class Tracks:
    """Labelled boxes, one row each: label time (µs), corners (pixels), class, track."""

    t: NDArray[np.int64]
    x0: NDArray[np.float64]
    y0: NDArray[np.float64]
    x1: NDArray[np.float64]
    y1: NDArray[np.float64]
    class_id: NDArray[np.int64]
    track_id: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.t)

    @staticmethod
    def from_dsec(arr: NDArray) -> Tracks:
        """The boxes of a (validated) ``tracks.npy`` array, clipped to the image."""
        x, y = arr["x"].astype(np.float64), arr["y"].astype(np.float64)
        return Tracks(
            t=arr["t"].astype(np.int64),
            x0=x,
            y0=y,
            x1=x + arr["w"].astype(np.float64),
            y1=y + arr["h"].astype(np.float64),
            class_id=arr["class_id"].astype(np.int64),
            track_id=arr["track_id"].astype(np.int64),
        ).clipped()

    @staticmethod
    def from_store(arr: NDArray) -> Tracks:
        x0, y0, x1, y1 = (arr[name].astype(np.float64) for name in _CORNERS)
        t, class_id = arr["t"].astype(np.int64), arr["class_id"].astype(np.int64)
        return Tracks(t, x0, y0, x1, y1, class_id, arr["track_id"].astype(np.int64)).sorted()

    def to_store(self) -> NDArray:
        out = np.empty(len(self), dtype=STORE_DTYPE)
        for name in ("t", *_CORNERS, "class_id", "track_id"):
            out[name] = getattr(self, name)
        return out

    def take(self, keep: NDArray | slice) -> Tracks:
        """The rows ``keep`` selects (a mask or indices), in that order."""
        return Tracks(*(getattr(self, name)[keep] for name in _FIELDS))

    def sorted(self) -> Tracks:
        return self.take(np.lexsort((self.track_id, self.t)))

    def clipped(self) -> Tracks:
        """Boxes clipped to ``[0, 640] x [0, 480]``; those with no area left dropped."""
        x0, x1 = np.maximum(self.x0, 0.0), np.minimum(self.x1, float(SENSOR_WIDTH))
        y0, y1 = np.maximum(self.y0, 0.0), np.minimum(self.y1, float(SENSOR_HEIGHT))
        inside = (x1 > x0) & (y1 > y0)
        clipped = Tracks(self.t, x0, y0, x1, y1, self.class_id, self.track_id)
        return clipped.take(inside).sorted()

    def window(self, t0: int, t1: int) -> Tracks:
        """The rows labelled at ``t0 <= t < t1`` (rows are sorted by time)."""
        a, b = np.searchsorted(self.t, [t0, t1], side="left")
        return self.take(slice(int(a), int(b)))

    @property
    def area(self) -> NDArray[np.float64]:
        return (self.x1 - self.x0) * (self.y1 - self.y0)

    @property
    def classes(self) -> set[int]:
        return {int(c) for c in np.unique(self.class_id)}


_FIELDS = ("t", *_CORNERS, "class_id", "track_id")
