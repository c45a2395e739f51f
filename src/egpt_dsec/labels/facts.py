"""A clip's labelled objects as a short factual list (class, position, motion): what a
prompt can tell a model about the clip (``annotate --with-labels``)."""

from __future__ import annotations

from dataclasses import dataclass

from egpt_dsec.labels.classes import CLASS_NAMES
from egpt_dsec.labels.tasks import MIN_SPAN_US, side_and_depth, track_motion
from egpt_dsec.labels.tracks import Tracks
from egpt_dsec.labels.window import ClipLabels, first_times


@dataclass(frozen=True)
class ObjectFact:
    """One labelled object of a clip: at its last label time in the window, its side and
    depth; its motion over the window (None when labelled over less than the motion
    task's minimum span)."""

    track_id: int
    class_name: str
    side: str
    depth: str
    motion: str | None
    first_s: float  # its first and last label time, seconds from the clip's start
    last_s: float


def clip_objects(tracks: Tracks, t0: int, t1: int) -> list[ObjectFact]:
    """The objects labelled in ``[t0, t1)``, by first appearance then track id."""
    c = ClipLabels.of(tracks, t0, t1)
    facts = []
    first = first_times(c.rows)
    for track in sorted(first, key=lambda k: (first[k], k)):
        own = c.track(track)
        last = len(own) - 1
        side, depth = side_and_depth(own, last)
        span = int(own.t[-1]) - int(own.t[0])
        facts.append(
            ObjectFact(
                track_id=track,
                class_name=CLASS_NAMES[int(own.class_id[0])],
                side=side,
                depth=depth,
                motion=track_motion(own) if span >= MIN_SPAN_US else None,
                first_s=c.seconds(int(own.t[0])),
                last_s=c.seconds(int(own.t[-1])),
            )
        )
    return facts


def describe_objects(facts: list[ObjectFact]) -> list[str]:
    """One line per object: ``car: left, near, approaching (0.05-0.95 s)``."""
    lines = []
    for f in facts:
        motion = f", {f.motion}" if f.motion else ""
        lines.append(
            f"{f.class_name}: {f.side}, {f.depth}{motion} ({f.first_s:.2f}-{f.last_s:.2f} s)"
        )
    return lines
