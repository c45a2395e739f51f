"""Work units: a long sequence is cut into time shards so many workers can share it.

A shard owns the clips whose windows START inside it, so every clip is built by
exactly one job; a clip may run past the shard's end, so events and frames near
a border are read by two shards. Shards depend only on the timestamps and the
shard length, never on the executor, so local and Ray builds are identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.plan.clips import Clip


@dataclass(frozen=True)
class Shard:
    index: int
    count: int
    start: int  # absolute µs; owns clips with start <= t0 < stop
    stop: int

    @property
    def unit(self) -> str:
        """Manifest unit name: empty for an unsharded sequence."""
        return "" if self.count == 1 else f"{self.index:03d}"

    def owns(self, clip: Clip) -> bool:
        return self.start <= clip.t0 < self.stop


WHOLE_SEQUENCE = Shard(0, 1, -(2**62), 2**62)


def plan_shards(timestamps: NDArray[np.int64], shard_us: int | None) -> list[Shard]:
    """Equal shards of about ``shard_us`` covering the sequence (one if ``None``)."""
    first = int(timestamps[0]) if len(timestamps) else 0
    end = int(timestamps[-1]) + 1 if len(timestamps) else 1
    span = end - first
    count = 1 if not shard_us or span <= shard_us else -(-span // shard_us)
    edges = [first + (span * i) // count for i in range(count)] + [end]
    return [Shard(i, count, edges[i], edges[i + 1]) for i in range(count)]
