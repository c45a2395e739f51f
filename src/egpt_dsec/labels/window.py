"""The labels of one clip window, and the facts every task reads from them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from egpt_dsec.labels.tracks import Tracks


@dataclass(frozen=True, eq=False)
class ClipLabels:
    """The rows labelled inside ``[t0, t1)`` (in the build's view, clipped), the classes
    labelled anywhere in the sequence (for plausible wrong options), and what decides the
    seeded choices: ``--seed`` and the clip's id."""

    rows: Tracks
    t0: int
    t1: int
    elsewhere: frozenset[int] = frozenset()
    seed: int = 0
    clip_id: str = ""
    times: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "times", tuple(int(t) for t in np.unique(self.rows.t)))

    @staticmethod
    def of(tracks: Tracks, t0: int, t1: int, seed: int = 0, clip_id: str = "") -> ClipLabels:
        """The window of a sequence's boxes."""
        return ClipLabels(tracks.window(t0, t1), t0, t1, frozenset(tracks.classes), seed, clip_id)

    @property
    def present(self) -> list[int]:
        """Classes labelled in the window, by class id."""
        return sorted(self.rows.classes)

    def stated_time(self) -> int:
        """The label time closest to the window's middle (the earlier of two as close)."""
        middle2 = self.t0 + self.t1  # twice the middle: integers only
        return min(self.times, key=lambda t: (abs(2 * t - middle2), t))

    def at(self, t: int) -> Tracks:
        return self.rows.take(self.rows.t == t)

    def of_class(self, class_id: int) -> Tracks:
        return self.rows.take(self.rows.class_id == class_id)

    def track(self, track_id: int) -> Tracks:
        return self.rows.take(self.rows.track_id == track_id)

    def seconds(self, t: int) -> float:
        """A label time as seconds from the clip's start."""
        return (t - self.t0) / 1e6


def largest(rows: Tracks) -> int:
    """The index of the largest box (ties: the lower track id)."""
    area = rows.area
    return min(range(len(rows)), key=lambda i: (-area[i], int(rows.track_id[i])))


def first_times(rows: Tracks) -> dict[int, int]:
    """Track id -> its first label time among ``rows``."""
    first: dict[int, int] = {}
    for t, track in zip(rows.t.tolist(), rows.track_id.tolist(), strict=True):
        first.setdefault(track, t)
    return first
