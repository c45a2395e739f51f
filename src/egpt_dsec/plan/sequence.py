"""A sequence planned once per build: every clip of every duration, and its work units.

The plan is made in the driver from the image timestamps and travels inside each
job, so no job and no report plans again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.durations import Duration
from egpt_dsec.plan.clips import FRONT, SLIDING, Clip, plan_clips
from egpt_dsec.plan.shards import Shard, plan_shards


@dataclass(frozen=True)
class SequencePlan:
    timestamps: NDArray[np.int64]
    durations: tuple[Duration, ...]
    clips: tuple[Clip, ...]  # all durations, in streaming order
    shards: tuple[Shard, ...]

    def counts(self) -> dict[str, int]:
        """Duration label -> planned clips (0 for a duration longer than the sequence)."""
        counts = dict.fromkeys((d.label for d in self.durations), 0)
        for clip in self.clips:
            counts[clip.duration.label] += 1
        return counts

    @property
    def too_short_for(self) -> tuple[str, ...]:
        return tuple(label for label, count in self.counts().items() if count == 0)

    def clips_of(self, shard: Shard) -> tuple[Clip, ...]:
        return tuple(clip for clip in self.clips if shard.owns(clip))


def plan_sequence(
    timestamps: NDArray[np.int64],
    durations: tuple[Duration, ...],
    overlap: float,
    shard_us: int | None,
    image_idx: str = "first",
    windows: str = SLIDING,
    sync: str = FRONT,
) -> SequencePlan:
    clips = plan_clips(timestamps, durations, overlap, image_idx, windows, sync)
    shards = tuple(s for s in plan_shards(timestamps, shard_us) if any(s.owns(c) for c in clips))
    return SequencePlan(timestamps, durations, tuple(clips), shards)
