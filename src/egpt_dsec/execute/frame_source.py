"""Where a job's frames come from: DSEC's PNGs, or those warped into the event view.

With ``--frames-view event`` every frame a clip folder holds is warped once into
``OUT/<split>/event_view_frames/<sequence>/`` (before the pass, on the frame lane) and
the clip folders link to those files, as they link to DSEC's frames otherwise. The MP4
encoders read the same pixels: the kept file when it is there (PNG is lossless, and a
640x480 decode is cheap), else the source frame warped in memory. Either way the bytes
depend only on the source frame and the calibration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.config import EVENT_VIEW, BuildConfig
from egpt_dsec.render.warp import EVENT_VIEW_SIZE, warp_frame_to_event_view
from egpt_dsec.source.calibration import load_calibration
from egpt_dsec.source.discover import SequenceSource
from egpt_dsec.source.frames import decode_frame, frame_size
from egpt_dsec.source.timestamps import list_frames
from egpt_dsec.writers.png import PAETH, save_png

FRAME_PNG_LEVEL = 3  # zlib level of a warped frame: most of the gain of 6 at half the time


@dataclass(frozen=True, eq=False)
class FrameSource:
    """One sequence's frames in the view the clips get (``homography`` None: the camera's)."""

    source: list[Path]
    homography: NDArray[np.float64] | None = None
    warped: list[Path] = field(default_factory=list)  # event view: where each is kept

    @staticmethod
    def of(source: SequenceSource, config: BuildConfig, frames: int) -> FrameSource:
        """The sequence's ``frames`` frames in the view ``config`` asks for; a missing or
        broken calibration is an InputError of this sequence."""
        paths = list_frames(source.files.frames_dir, frames)
        if config.frames_view != EVENT_VIEW:
            return FrameSource(paths)
        calibration = load_calibration(source.folder, source.camera)
        homography = calibration.frame_to_event_homography(frame_size(paths[0]))
        warped = config.output.event_view_frames(source.split, source.name, frames)
        return FrameSource(paths, homography, warped)

    @property
    def event_view(self) -> bool:
        return self.homography is not None

    @property
    def linked(self) -> list[Path]:
        """The file of each frame that clip frame folders link to."""
        return self.warped if self.event_view else self.source

    def size(self) -> tuple[int, int]:
        """(width, height) of the frames in this view."""
        return EVENT_VIEW_SIZE if self.event_view else frame_size(self.source[0])

    def rgb(self, i: int) -> NDArray[np.uint8]:
        """Frame ``i`` in this view, as (H, W, 3) RGB."""
        if self.homography is None:
            return decode_frame(self.source[i])
        if self.warped[i].is_file():
            return decode_frame(self.warped[i])
        return self.warp(i)

    def warp(self, i: int) -> NDArray[np.uint8]:
        assert self.homography is not None
        return warp_frame_to_event_view(decode_frame(self.source[i]), self.homography)

    def keep_warped(self, i: int) -> int:
        """Write frame ``i``'s event-view file unless it is there; the bytes written."""
        path = self.warped[i]
        if path.is_file():
            return 0
        save_png(path, self.warp(i), FRAME_PNG_LEVEL, PAETH)
        return path.stat().st_size
