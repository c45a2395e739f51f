"""What every clip of one job shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.config import BuildConfig
from egpt_dsec.execute.frame_source import FrameSource
from egpt_dsec.execute.lanes import Lanes
from egpt_dsec.execute.report import JobStats
from egpt_dsec.kinds import Kind, UnitContext


@dataclass(frozen=True)
class SequenceContext:
    """One job's sequence, options and output. ``unit`` is what the kinds' writers get;
    ``stats`` is the job's, updated in place, and ``lanes`` the threads its slow stages
    run on; ``kinds`` the clip kinds the build writes, each with its options."""

    unit: UnitContext
    config: BuildConfig
    frames: FrameSource
    stats: JobStats
    lanes: Lanes
    kinds: tuple[tuple[Kind, Any], ...]

    @property
    def split(self) -> str:
        return self.unit.split

    @property
    def sequence(self) -> str:
        return self.unit.sequence

    @property
    def timestamps(self) -> NDArray[np.int64]:
        return self.unit.timestamps

    @property
    def video_size(self) -> tuple[int, int]:
        return self.unit.video_size
