"""Multiple choice: three wrong options per fact, plausible and never right.

count: the nearest other counts (n-1, n+1, n-2, ...; none below 0). presence (its "yes"
facts): three classes absent from the window, those labelled elsewhere in the sequence
first. position: the other side/depth pairs, those differing in one word first. motion:
three of the other four, in seeded order. grounding: boxes of other objects at the same
label time, then the box moved by its own width or height (inside the image), each
overlapping the right box by IoU < 0.5. timing: the right time ± k·D/8 (D the clip's
duration, at least 0.05 s), inside the clip. Fewer than three: no multiple-choice item.
"""

from __future__ import annotations

from typing import Any

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH
from egpt_dsec.labels.rank import by_rank
from egpt_dsec.labels.tasks import (
    COUNT,
    DEPTHS,
    GROUNDING,
    MOTION,
    MOTIONS,
    POSITION,
    PRESENCE,
    SIDES,
    TIMING,
    Fact,
    absent_ranked,
    pixel_box,
)
from egpt_dsec.labels.window import ClipLabels

WRONG = 3  # wrong options per item: four in all
MAX_IOU = 0.5
Box = tuple[int, int, int, int]


def _counts(n: int) -> list[int]:
    return [v for k in range(1, n + WRONG + 1) for v in (n - k, n + k) if v >= 0][:WRONG]


def _positions(right: tuple[str, str], seed: int, key: str) -> list[tuple[str, str]]:
    others = [(s, d) for s in SIDES for d in DEPTHS if (s, d) != right]

    def differs(pair: tuple[str, str]) -> int:
        return abs(SIDES.index(pair[0]) - SIDES.index(right[0])) + (pair[1] != right[1])

    ranked = by_rank(others, seed, key)
    return sorted(ranked, key=differs)[:WRONG]


def iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 1.0


def _boxes(fact: Fact, c: ClipLabels) -> list[Box]:
    right: Box = fact.value
    assert fact.at is not None
    rows = c.at(fact.at)
    area = rows.area
    order = sorted(range(len(rows)), key=lambda i: (-area[i], int(rows.track_id[i])))
    others = [pixel_box(rows, i) for i in order if int(rows.track_id[i]) not in fact.track_ids]
    w, h = right[2] - right[0], right[3] - right[1]
    moved = [
        (right[0] + dx, right[1] + dy, right[2] + dx, right[3] + dy)
        for dx, dy in ((w, 0), (-w, 0), (0, h), (0, -h))
    ]
    inside = [
        b
        for b in moved
        if b[0] >= 0 and b[1] >= 0 and b[2] <= SENSOR_WIDTH and b[3] <= SENSOR_HEIGHT
    ]
    found: list[Box] = []
    for box in others + inside:
        if box != right and box not in found and iou(box, right) < MAX_IOU:
            found.append(box)
    return found[:WRONG]


def _times(seconds: float, duration_s: float) -> list[float]:
    step = max(duration_s / 8, 0.05)
    found = []
    for k in range(1, 16):
        for v in (seconds + k * step, seconds - k * step):
            if 0 <= v < duration_s:
                found.append(v)
    return found[:WRONG]


def wrong_values(fact: Fact, c: ClipLabels, key: str) -> list[Any]:
    """The wrong options' values (as the fact's ``value``; presence: class ids)."""
    if fact.task == COUNT:
        return _counts(fact.value)
    if fact.task == PRESENCE:
        return absent_ranked(c)[:WRONG] if fact.value else []
    if fact.task == POSITION:
        return _positions(fact.value, c.seed, key)
    if fact.task == MOTION:
        return by_rank([m for m in MOTIONS if m != fact.value], c.seed, key)[:WRONG]
    if fact.task == GROUNDING:
        return _boxes(fact, c)
    if fact.task == TIMING:
        return _times(fact.value, (c.t1 - c.t0) / 1e6)
    raise ValueError(f"unknown task {fact.task!r}")
