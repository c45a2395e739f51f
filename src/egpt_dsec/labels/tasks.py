"""The six tasks, each one exact definition over a clip window's boxes (README:
*Ground-truth questions*). A task gives facts: the value asked about and its evidence
(the tracks and label times it was read from); ``phrasing`` turns them into text and
``choices`` into multiple-choice options.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH
from egpt_dsec.labels.classes import CLASS_NAMES
from egpt_dsec.labels.rank import by_rank
from egpt_dsec.labels.tracks import Tracks
from egpt_dsec.labels.window import ClipLabels, first_times, largest

COUNT, PRESENCE, POSITION, MOTION, GROUNDING, TIMING = (
    "count", "presence", "position", "motion", "grounding", "timing",
)  # fmt: skip
TASKS: tuple[str, ...] = (COUNT, PRESENCE, POSITION, MOTION, GROUNDING, TIMING)

LEFT, CENTRE, RIGHT = "left", "centre", "right"
NEAR, FAR = "near", "far"
SIDES, DEPTHS = (LEFT, CENTRE, RIGHT), (NEAR, FAR)
NEAR_BOTTOM = 0.625 * SENSOR_HEIGHT  # 300 px: a box whose bottom edge is this low is near
APPROACHING, MOVING_AWAY = "approaching", "moving away"
CROSSING_LEFT, CROSSING_RIGHT, STILL = "crossing left", "crossing right", "still"
MOTIONS = (APPROACHING, MOVING_AWAY, CROSSING_LEFT, CROSSING_RIGHT, STILL)
MIN_SPAN_US = 250_000  # a track's first and last label in the window this far apart
GROWTH = 1.44  # area ratio of a box grown by 20% in size (sqrt of its area)
CROSSING_PX = 0.05 * SENSOR_WIDTH  # 32 px of horizontal travel of the box centre
MOST = 3  # motion, grounding, timing: at most this many questions per clip


@dataclass(frozen=True)
class Fact:
    """One answer with its evidence: the tracks and label times it was read from."""

    task: str
    class_id: int | None
    value: Any  # count int, presence bool, position (side, depth), motion str, box, seconds
    track_ids: tuple[int, ...]
    label_times: tuple[int, ...]
    at: int | None = None  # the label time the question states (position, grounding)

    @property
    def class_name(self) -> str | None:
        return None if self.class_id is None else CLASS_NAMES[self.class_id]


def count(c: ClipLabels) -> list[Fact]:
    """Per class labelled in the window: its distinct tracks there."""
    facts = []
    for class_id in c.present:
        first = first_times(c.of_class(class_id))
        ids = sorted(first)
        facts.append(Fact(COUNT, class_id, len(ids), tuple(ids), tuple(first[i] for i in ids)))
    return facts


def absent_ranked(c: ClipLabels) -> list[int]:
    """Classes not labelled in the window: those labelled elsewhere in the sequence first,
    each group in seeded order."""
    absent = [k for k in range(len(CLASS_NAMES)) if k not in set(c.present)]
    elsewhere = [k for k in absent if k in c.elsewhere]
    others = [k for k in absent if k not in c.elsewhere]
    return by_rank(elsewhere, c.seed, c.clip_id) + by_rank(others, c.seed, c.clip_id)


def presence(c: ClipLabels) -> list[Fact]:
    """k = min(present, absent) classes of each: the present ones in seeded order, the
    absent ones by :func:`absent_ranked`; yes and no alternate."""
    present = by_rank(c.present, c.seed, c.clip_id)
    absent = absent_ranked(c)
    k = min(len(present), len(absent))
    facts = []
    for yes, no in zip(present[:k], absent[:k], strict=True):
        first = first_times(c.of_class(yes))
        ids = sorted(first)
        facts.append(Fact(PRESENCE, yes, True, tuple(ids), tuple(first[i] for i in ids)))
        facts.append(Fact(PRESENCE, no, False, (), ()))
    return facts


def side_and_depth(rows: Tracks, i: int) -> tuple[str, str]:
    """Left, centre or right by the box centre's third of the width; near when the
    box's bottom edge is at or below ``NEAR_BOTTOM``."""
    centre = (rows.x0[i] + rows.x1[i]) / 2
    side = (
        LEFT if centre < SENSOR_WIDTH / 3 else RIGHT if centre >= 2 * SENSOR_WIDTH / 3 else CENTRE
    )
    return side, NEAR if rows.y1[i] >= NEAR_BOTTOM else FAR


def position(c: ClipLabels) -> list[Fact]:
    """The largest box at the stated label time: its side and depth."""
    if not c.times:
        return []
    t = c.stated_time()
    rows = c.at(t)
    i = largest(rows)
    track = int(rows.track_id[i])
    return [Fact(POSITION, int(rows.class_id[i]), side_and_depth(rows, i), (track,), (t,), t)]


def track_motion(rows: Tracks) -> str:
    """A track's motion from its first and last box in the window (``rows``: its rows)."""
    a, b = rows.area[0], rows.area[-1]
    if b >= GROWTH * a:
        return APPROACHING
    if GROWTH * b <= a:
        return MOVING_AWAY
    shift = (rows.x0[-1] + rows.x1[-1]) / 2 - (rows.x0[0] + rows.x1[0]) / 2
    if shift >= CROSSING_PX:
        return CROSSING_RIGHT
    if shift <= -CROSSING_PX:
        return CROSSING_LEFT
    return STILL


def motion(c: ClipLabels) -> list[Fact]:
    """Per class, its largest track (mean box area over its rows) labelled over at least
    ``MIN_SPAN_US``; the ``MOST`` largest of these."""
    chosen: list[tuple[float, int, int]] = []  # (-mean area, track id, class)
    for class_id in c.present:
        rows = c.of_class(class_id)
        candidates = []
        for track in sorted(first_times(rows)):
            own = c.track(track)
            if int(own.t[-1]) - int(own.t[0]) >= MIN_SPAN_US:
                candidates.append((-sum(own.area.tolist()) / len(own), track, class_id))
        if candidates:
            chosen.append(min(candidates))
    facts = []
    for _, track, class_id in sorted(chosen)[:MOST]:
        own = c.track(track)
        times = (int(own.t[0]), int(own.t[-1]))
        facts.append(Fact(MOTION, class_id, track_motion(own), (track,), times))
    return facts


def pixel_box(rows: Tracks, i: int) -> tuple[int, int, int, int]:
    """``[x0, y0, x1, y1]`` rounded to whole pixels (halves to even)."""
    return (round(rows.x0[i]), round(rows.y0[i]), round(rows.x1[i]), round(rows.y1[i]))


def grounding(c: ClipLabels) -> list[Fact]:
    """At the stated label time, per class there, its largest box; the ``MOST`` largest."""
    if not c.times:
        return []
    t = c.stated_time()
    rows = c.at(t)
    area = rows.area
    best: dict[int, int] = {}
    for i in range(len(rows)):
        k = int(rows.class_id[i])
        if k not in best or (-area[i], rows.track_id[i]) < (-area[best[k]], rows.track_id[best[k]]):
            best[k] = i
    order = sorted(best.items(), key=lambda kv: (-area[kv[1]], int(rows.track_id[kv[1]])))
    return [
        Fact(GROUNDING, k, pixel_box(rows, i), (int(rows.track_id[i]),), (t,), t)
        for k, i in order[:MOST]
    ]


def timing(c: ClipLabels) -> list[Fact]:
    """Classes not labelled at the window's first label time but later: the first label
    time of each, in seconds from the clip's start; the ``MOST`` earliest."""
    if not c.times:
        return []
    at_start = set(c.at(c.times[0]).classes)
    found = []
    for class_id in c.present:
        if class_id in at_start:
            continue
        rows = c.of_class(class_id)
        t = int(rows.t[0])
        ids = tuple(sorted({int(k) for k in rows.track_id[rows.t == t]}))
        found.append(Fact(TIMING, class_id, c.seconds(t), ids, (t,)))
    return sorted(found, key=lambda f: (f.label_times[0], f.class_id))[:MOST]


DEFINITIONS = {
    COUNT: count,
    PRESENCE: presence,
    POSITION: position,
    MOTION: motion,
    GROUNDING: grounding,
    TIMING: timing,
}
