"""What every clip of one job shares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.config import BuildConfig
from egpt_dsec.execute.frame_source import FrameSource
from egpt_dsec.execute.lanes import Lanes
from egpt_dsec.execute.report import JobStats
from egpt_dsec.layout.output import OutputLayout


@dataclass(frozen=True)
class SequenceContext:
    """One job's sequence, options and output; ``stats`` is the job's, updated in place,
    and ``lanes`` the threads its slow stages run on."""

    split: str
    sequence: str
    config: BuildConfig
    layout: OutputLayout
    timestamps: NDArray[np.int64]
    frames: FrameSource
    video_size: tuple[int, int]
    stats: JobStats
    lanes: Lanes
