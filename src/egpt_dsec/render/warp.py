"""Frames warped into the rectified event view (``--frames-view event``).

One homography per sequence (:meth:`Calibration.frame_to_event_homography`), applied
with OpenCV's ``warpPerspective``: bilinear, fixed-point (1/32 px), black outside the
frame, the same bytes for the same input. Plugs in where a clip's frames are decoded
(the MP4 encoder's input) and where the video folder is filled: in event view that
folder gets newly written 640x480 PNGs instead of hard links to the source.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH

EVENT_VIEW_SIZE = (SENSOR_WIDTH, SENSOR_HEIGHT)
# The build warps frames on its own lane threads, one frame per thread: OpenCV's pool
# beside them would only oversubscribe the cores (its output does not depend on it).
cv2.setNumThreads(1)
BLACK = (0, 0, 0)


def warp_frame_to_event_view(
    rgb: NDArray[np.uint8],
    homography: NDArray[np.float64],
    out_size: tuple[int, int] = EVENT_VIEW_SIZE,
) -> NDArray[np.uint8]:
    """The (h, w, 3) frame seen from the event camera: out pixel = H · frame pixel.

    ``out_size`` is (width, height). Output pixels whose source lies outside the frame
    are black.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 3) uint8 frame, got {rgb.dtype} {rgb.shape}")
    if homography.shape != (3, 3) or not np.all(np.isfinite(homography)):
        raise ValueError("homography must be a finite 3x3 matrix")
    out = cv2.warpPerspective(
        np.ascontiguousarray(rgb),
        np.asarray(homography, dtype=np.float64),
        (int(out_size[0]), int(out_size[1])),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=BLACK,
    )
    return np.asarray(out, dtype=np.uint8)


def resize_frame(rgb: NDArray[np.uint8], out_size: tuple[int, int] = EVENT_VIEW_SIZE) -> NDArray:
    """The frame scaled to ``out_size`` (what a user sees without alignment); area filter."""
    if (rgb.shape[1], rgb.shape[0]) == tuple(out_size):
        return rgb
    return np.asarray(cv2.resize(rgb, tuple(out_size), interpolation=cv2.INTER_AREA))
