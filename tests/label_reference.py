"""The label tasks recomputed from the README's definitions alone: plain loops over the
rows of ``tracks.npy`` (and, for the rectified view, over the border pixels of each box
through ``rectify_map.h5``), sharing no code with ``egpt_dsec.labels``. The tests compare
every label answer the build writes with what this gives."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

W, H = 640, 480
CLASSES = ["pedestrian", "rider", "car", "bus", "truck", "bicycle", "motorcycle", "train"]
NEAR_BOTTOM = 300.0  # 0.625 x 480
MIN_SPAN_US = 250_000
GROWTH = 1.44
CROSSING_PX = 32.0
MOST = 3


@dataclass
class Row:
    t: int
    x0: float
    y0: float
    x1: float
    y1: float
    cls: int
    track: int

    @property
    def area(self) -> float:
        return (self.x1 - self.x0) * (self.y1 - self.y0)

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2


def clip_box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, ...] | None:
    x0, y0, x1, y1 = max(x0, 0.0), max(y0, 0.0), min(x1, float(W)), min(y1, float(H))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def read_rows(tracks_npy: Path, rectify_map_h5: Path | None) -> list[Row]:
    """Every labelled box in the view asked for, clipped, sorted by (t, track)."""
    arr = np.load(tracks_npy, allow_pickle=False)
    table = None
    if rectify_map_h5 is not None:
        with h5py.File(rectify_map_h5, "r") as f:
            table = f["rectify_map"][()].tolist()  # [v][u] = [x_r, y_r]
    rows = []
    for r in arr.tolist():
        t, x, y, w, h, cls, _, track = r[:8]
        box = clip_box(float(x), float(y), float(x) + float(w), float(y) + float(h))
        if box is not None and table is not None:
            box = clip_box(*rectified(box, table))
        if box is not None:
            rows.append(Row(int(t), *box, int(cls), int(track)))
    return sorted(rows, key=lambda r: (r.t, r.track))


def rectified(box: tuple[float, ...], table: list) -> tuple[float, float, float, float]:
    u0, u1 = math.floor(box[0]), math.ceil(box[2]) - 1
    v0, v1 = math.floor(box[1]), math.ceil(box[3]) - 1
    border = [(u, v) for u in range(u0, u1 + 1) for v in (v0, v1)]
    border += [(u, v) for v in range(v0, v1 + 1) for u in (u0, u1)]
    xs = [float(table[v][u][0]) for u, v in border]
    ys = [float(table[v][u][1]) for u, v in border]
    return min(xs), min(ys), max(xs) + 1.0, max(ys) + 1.0


def ranked(items: list, seed: int, *parts: object) -> list:
    def key(item: object) -> tuple[int, str]:
        text = "|".join(str(p) for p in (seed, *parts, item))
        return zlib.crc32(text.encode()), str(item)

    return sorted(items, key=key)


@dataclass
class Expected:
    task: str
    cls: str | None
    value: object
    track_ids: list[int]
    label_times: list[int]


def expected_answers(
    rows: list[Row], t0: int, t1: int, seed: int, clip_id: str, tasks: list[str]
) -> list[Expected]:
    """Each task's answers about the window [t0, t1), in the order the README gives."""
    inside = [r for r in rows if t0 <= r.t < t1]
    sequence_classes = {r.cls for r in rows}
    found: list[Expected] = []
    for task in ["count", "presence", "position", "motion", "grounding", "timing"]:
        if task in tasks:
            found += TASKS[task](inside, t0, t1, seed, clip_id, sequence_classes)
    return found


def _first_times(rows: list[Row]) -> dict[int, int]:
    first: dict[int, int] = {}
    for r in rows:
        if r.track not in first or r.t < first[r.track]:
            first[r.track] = r.t
    return first


def count(inside: list[Row], *_: object) -> list[Expected]:
    out = []
    for cls in sorted({r.cls for r in inside}):
        first = _first_times([r for r in inside if r.cls == cls])
        ids = sorted(first)
        out.append(Expected("count", CLASSES[cls], len(ids), ids, [first[i] for i in ids]))
    return out


def absent_order(inside: list[Row], seed: int, clip_id: str, elsewhere: set[int]) -> list[int]:
    present = {r.cls for r in inside}
    absent = [k for k in range(8) if k not in present]
    return ranked([k for k in absent if k in elsewhere], seed, clip_id) + ranked(
        [k for k in absent if k not in elsewhere], seed, clip_id
    )


def presence(
    inside: list[Row], t0: int, t1: int, seed: int, clip_id: str, elsewhere: set[int]
) -> list[Expected]:
    present = ranked(sorted({r.cls for r in inside}), seed, clip_id)
    absent = absent_order(inside, seed, clip_id, elsewhere)
    out = []
    for k in range(min(len(present), len(absent))):
        first = _first_times([r for r in inside if r.cls == present[k]])
        ids = sorted(first)
        out.append(Expected("presence", CLASSES[present[k]], True, ids, [first[i] for i in ids]))
        out.append(Expected("presence", CLASSES[absent[k]], False, [], []))
    return out


def stated_time(inside: list[Row], t0: int, t1: int) -> int:
    times = sorted({r.t for r in inside})
    best = times[0]
    for t in times:
        if abs(2 * t - (t0 + t1)) < abs(2 * best - (t0 + t1)):
            best = t
    return best


def largest(rows: list[Row]) -> Row:
    best = rows[0]
    for r in rows[1:]:
        if r.area > best.area or (r.area == best.area and r.track < best.track):
            best = r
    return best


def position(inside: list[Row], t0: int, t1: int, *_: object) -> list[Expected]:
    if not inside:
        return []
    t = stated_time(inside, t0, t1)
    r = largest([r for r in inside if r.t == t])
    side = "left" if r.centre < W / 3 else "right" if r.centre >= 2 * W / 3 else "centre"
    depth = "near" if r.y1 >= NEAR_BOTTOM else "far"
    return [Expected("position", CLASSES[r.cls], (side, depth), [r.track], [t])]


def motion_of(own: list[Row]) -> str:
    a, b = own[0], own[-1]
    if b.area >= GROWTH * a.area:
        return "approaching"
    if GROWTH * b.area <= a.area:
        return "moving away"
    shift = b.centre - a.centre
    if shift >= CROSSING_PX:
        return "crossing right"
    if shift <= -CROSSING_PX:
        return "crossing left"
    return "still"


def motion(inside: list[Row], *_: object) -> list[Expected]:
    chosen = []
    for cls in sorted({r.cls for r in inside}):
        best = None
        for track in sorted({r.track for r in inside if r.cls == cls}):
            own = [r for r in inside if r.track == track]
            if own[-1].t - own[0].t < MIN_SPAN_US:
                continue
            mean = sum(r.area for r in own) / len(own)
            if best is None or (mean, -track) > (best[0], -best[1]):
                best = (mean, track, cls)
        if best is not None:
            chosen.append(best)
    chosen.sort(key=lambda c: (-c[0], c[1]))
    out = []
    for _, track, cls in chosen[:MOST]:
        own = [r for r in inside if r.track == track]
        out.append(Expected("motion", CLASSES[cls], motion_of(own), [track], [own[0].t, own[-1].t]))
    return out


def grounding(inside: list[Row], t0: int, t1: int, *_: object) -> list[Expected]:
    if not inside:
        return []
    t = stated_time(inside, t0, t1)
    at = [r for r in inside if r.t == t]
    best = [largest([r for r in at if r.cls == cls]) for cls in sorted({r.cls for r in at})]
    best.sort(key=lambda r: (-r.area, r.track))
    return [
        Expected(
            "grounding",
            CLASSES[r.cls],
            [round(r.x0), round(r.y0), round(r.x1), round(r.y1)],
            [r.track],
            [t],
        )
        for r in best[:MOST]
    ]


def timing(inside: list[Row], t0: int, *_: object) -> list[Expected]:
    if not inside:
        return []
    first_time = min(r.t for r in inside)
    at_start = {r.cls for r in inside if r.t == first_time}
    out = []
    for cls in sorted({r.cls for r in inside} - at_start):
        t = min(r.t for r in inside if r.cls == cls)
        ids = sorted({r.track for r in inside if r.cls == cls and r.t == t})
        out.append(Expected("timing", CLASSES[cls], (t - t0) / 1e6, ids, [t]))
    out.sort(key=lambda e: (e.label_times[0], CLASSES.index(e.cls or "")))
    return out[:MOST]


TASKS = {
    "count": count,
    "presence": presence,
    "position": position,
    "motion": motion,
    "grounding": grounding,
    "timing": timing,
}
