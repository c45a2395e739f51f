"""A clip's events drawn over its frame in the 640x480 event image space (pure functions).

Whether they line up depends on the views the build wrote: DSEC's frames are in the
frame camera's view and its events at raw sensor pixels. ``Alignment`` says what the
build did and what the preview may add: with the calibration, camera-view frames are
warped into the event view; with a rectify table, raw events are rectified. Without
them the overlay shows the data as it is (a resized frame: events several pixels off).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.config import CAMERA_VIEW, EVENT_VIEW, FRAME_VIEWS
from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH
from egpt_dsec.render.rectify import RectifyTable, rectify_events
from egpt_dsec.render.warp import resize_frame, warp_frame_to_event_view
from egpt_dsec.source.calibration import Calibration

ON_RGB = (255, 40, 40)
OFF_RGB = (40, 90, 255)
FRAME_DIM = 0.6  # the frame is darkened so the event colours stand out


@dataclass(frozen=True, eq=False)
class Alignment:
    """How the frames on disk relate to the event view, and the calibration at hand.

    ``frames_view``: ``"camera"`` (DSEC's frames, the default build) or ``"event"``
    (frames the build already warped, ``--frames-view event``). ``calibration`` warps
    camera-view frames; ``rectify`` maps raw events (leave it None when the build
    rectified them, ``--rectify-events``).
    """

    frames_view: str = CAMERA_VIEW
    calibration: Calibration | None = None
    rectify: RectifyTable | None = None
    note: str = ""  # why an expected part is missing, e.g. no calibration file

    def __post_init__(self) -> None:
        if self.frames_view not in FRAME_VIEWS:
            raise ValueError(f"frames_view must be one of {FRAME_VIEWS}, got {self.frames_view!r}")


def frame_in_event_space(frame: NDArray[np.uint8], alignment: Alignment) -> tuple[NDArray, str]:
    """The frame as a 640x480 picture of the event view, and how it got there."""
    size = (SENSOR_WIDTH, SENSOR_HEIGHT)
    if alignment.frames_view == EVENT_VIEW:
        return resize_frame(frame, size), "frame in the event view (warped by the build)"
    if alignment.calibration is None:
        return resize_frame(frame, size), "frame resized to 640x480 (not aligned)"
    h = alignment.calibration.frame_to_event_homography((frame.shape[1], frame.shape[0]))
    return warp_frame_to_event_view(frame, h), "frame warped into the event view"


def draw_events(
    base: NDArray[np.uint8], x: NDArray[np.uint16], y: NDArray[np.uint16], p: NDArray[np.uint8]
) -> NDArray[np.uint8]:
    """Events painted over a darkened copy of ``base``: ON red, OFF blue, last one wins."""
    out = (base.astype(np.float32) * FRAME_DIM).astype(np.uint8)
    inside = (x < base.shape[1]) & (y < base.shape[0])
    pixel = y[inside].astype(np.int64) * base.shape[1] + x[inside]
    _, from_end = np.unique(pixel[::-1], return_index=True)
    last = len(pixel) - 1 - from_end  # the last event at each pixel
    on = p[inside][last] != 0
    rows, cols = np.divmod(pixel[last], base.shape[1])
    out[rows, cols] = np.where(on[:, None], np.array(ON_RGB, np.uint8), np.array(OFF_RGB, np.uint8))
    return out


def overlay(
    frame: NDArray[np.uint8],
    x: NDArray[np.uint16],
    y: NDArray[np.uint16],
    p: NDArray[np.uint8],
    alignment: Alignment,
) -> tuple[NDArray[np.uint8], str]:
    """The clip's events over its frame in the event image space, and a caption."""
    base, caption = frame_in_event_space(frame, alignment)
    if alignment.rectify is not None:
        keep, x, y = rectify_events(x, y, alignment.rectify)
        p = p[keep]
        caption += "; events rectified"
    else:
        caption += "; events as stored"
    if alignment.note:
        caption += f" ({alignment.note})"
    return draw_events(base, x, y, p), caption
