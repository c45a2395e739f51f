"""Which clips a sequence has, for every duration: pure functions of the image timestamps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.durations import Duration


@dataclass(frozen=True)
class Clip:
    """Window ``index`` of one duration: events and frames with ``t0 <= t < t1``."""

    duration: Duration
    index: int
    t0: int  # absolute microseconds, inclusive
    t1: int  # absolute microseconds, exclusive
    frame_start: int  # frames [frame_start, frame_stop) lie inside the window
    frame_stop: int
    image_idx: int  # EventGPT's image_idx (``IMAGE_IDX_RULES``): the clip's reference frame

    @property
    def key(self) -> tuple[str, int]:
        return (self.duration.label, self.index)

    @property
    def frame_indices(self) -> range:
        return range(self.frame_start, self.frame_stop)


def stride_us(duration: Duration, overlap: float) -> int:
    """Start-to-start distance of consecutive windows, in whole microseconds."""
    stride = round(duration.us * (1.0 - overlap))
    if stride <= 0:
        raise ValueError(f"overlap {overlap} leaves no stride for {duration.label}")
    return stride


# How a clip names its reference frame (``image_idx``): the first frame inside the clip
# (what the replaced scripts stored), or the frame nearest the window's end (which can
# lie just outside the clip).
IMAGE_IDX_RULES: tuple[str, ...] = ("first", "nearest-end")
# Where windows lie: every stride from the first image (sliding), or one per frame.
SLIDING, PER_FRAME = "sliding", "per-frame"
WINDOW_RULES: tuple[str, ...] = (SLIDING, PER_FRAME)
# Per frame, the window ends at the frame (front: the events before it, DSEC-Detection's
# sync "front") or starts at it (back: the events after it).
FRONT, BACK = "front", "back"
SYNCS: tuple[str, ...] = (FRONT, BACK)


def plan_windows(
    timestamps: NDArray[np.int64], duration: Duration, overlap: float, image_idx: str = "first"
) -> list[Clip]:
    """Windows ``[T0 + k*s, T0 + k*s + D)`` that end at or before the last image timestamp."""
    if image_idx not in IMAGE_IDX_RULES:
        raise ValueError(f"image_idx rule must be one of {IMAGE_IDX_RULES}, got {image_idx!r}")
    if len(timestamps) == 0:
        return []
    first, last = int(timestamps[0]), int(timestamps[-1])
    stride = stride_us(duration, overlap)
    count = 0 if last - first < duration.us else (last - first - duration.us) // stride + 1
    starts = first + stride * np.arange(count, dtype=np.int64)
    ends = starts + duration.us
    frame_starts = np.searchsorted(timestamps, starts, side="left")
    frame_stops = np.searchsorted(timestamps, ends, side="left")
    return [
        Clip(
            duration,
            k,
            int(starts[k]),
            int(ends[k]),
            int(frame_starts[k]),
            int(frame_stops[k]),
            int(frame_starts[k])
            if image_idx == "first"
            else nearest_frame(timestamps, int(ends[k])),
        )
        for k in range(count)
    ]


def plan_frame_windows(
    timestamps: NDArray[np.int64], duration: Duration, sync: str = FRONT
) -> list[Clip]:
    """One window per frame i: ``[t_i - D, t_i)`` (front: the events before the frame,
    which lies at the window's end) or ``[t_i, t_i + D)`` (back), its index and reference
    frame i, holding frame i alone (whatever other frame the window may span). A window is
    kept while it lies within the images' span ``[T0, T_last]``, as sliding windows do
    (so the first frame has none in front, the last none in back)."""
    if sync not in SYNCS:
        raise ValueError(f"sync must be one of {SYNCS}, got {sync!r}")
    if len(timestamps) == 0:
        return []
    first, last = int(timestamps[0]), int(timestamps[-1])
    starts = timestamps - duration.us if sync == FRONT else timestamps
    return [
        Clip(duration, i, int(t0), int(t0) + duration.us, i, i + 1, i)
        for i, t0 in enumerate(starts.tolist())
        if t0 >= first and t0 + duration.us <= last
    ]


def plan_clips(
    timestamps: NDArray[np.int64],
    durations: tuple[Duration, ...],
    overlap: float,
    image_idx: str = "first",
    windows: str = SLIDING,
    sync: str = FRONT,
) -> list[Clip]:
    """All clips of all durations, ordered by start time (then duration), the streaming order."""
    if windows not in WINDOW_RULES:
        raise ValueError(f"windows must be one of {WINDOW_RULES}, got {windows!r}")
    clips = [
        clip
        for d in durations
        for clip in (
            plan_windows(timestamps, d, overlap, image_idx)
            if windows == SLIDING
            else plan_frame_windows(timestamps, d, sync)
        )
    ]
    return sorted(clips, key=lambda c: (c.t0, c.duration.us, c.index))


def nearest_frame(timestamps: NDArray[np.int64], time: int) -> int:
    """Index of the image whose timestamp is closest to ``time`` (ties: the earlier)."""
    right = int(np.searchsorted(timestamps, time, side="left"))
    if right == 0:
        return 0
    if right == len(timestamps):
        return right - 1
    before, after = int(timestamps[right - 1]), int(timestamps[right])
    return right - 1 if time - before <= after - time else right
