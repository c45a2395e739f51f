"""A manifest record checked against itself, the build's stored plan and, with DSEC,
the events file. The files cannot be judged against a wrong record, so this comes first.
"""

from __future__ import annotations

import numpy as np

from egpt_dsec.durations import Duration
from egpt_dsec.kinds import KINDS, CheckTask
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.reports.verify.report import RECORDS, Problem
from egpt_dsec.source.h5events import EventFile

CLIP_KINDS = frozenset(k.name for k in KINDS if not k.per_dataset)  # what records may name


def record_problems(task: CheckTask, events: EventFile | None) -> list[Problem]:
    what = _record_problem(task) or _source_problem(task, events)
    if not what:
        return []
    unit = task.plan.unit_of(task.record.t0) if task.plan is not None else ""
    path = StateLayout(task.layout.root).manifest_file(task.split, task.sequence, unit)
    return [task.problem(RECORDS, path, what)]


def _record_problem(task: CheckTask) -> str | None:
    """The record is well formed and is the window the build planned."""
    r = task.record
    try:
        duration = Duration.parse(r.duration)
    except ValueError as exc:
        return f"record has a bad duration: {exc}"
    unknown = set(r.components) - CLIP_KINDS
    if unknown:
        return f"record names unknown components {sorted(unknown)}"
    if r.t1 - r.t0 != duration.us or r.num_events < 0 or r.dropped < 0 or r.parts < 1:
        return f"record is inconsistent (t0 {r.t0}, t1 {r.t1}, events {r.num_events})"
    if r.frame_stop < r.frame_start:
        return f"record frames [{r.frame_start}, {r.frame_stop}) are reversed"
    if task.plan is None or r.duration not in task.plan.windows:
        return None  # an output from before plans held windows
    window = task.plan.window(r.duration, r.clip)
    if window is None:
        planned = len(task.plan.windows[r.duration])
        return f"clip {r.clip} is not in the plan of the build ({planned} windows)"
    got = (r.t0, r.frame_start, r.frame_stop, r.image_idx if r.image_idx >= 0 else window[3])
    if got != tuple(window):
        return f"record window/frames {got} differ from the plan of the build {tuple(window)}"
    return None


def _source_problem(task: CheckTask, events: EventFile | None) -> str | None:
    """With DSEC: the source still has the planned timestamps and the record's events."""
    r = task.record
    if task.source is None or events is None:
        return None
    if task.source.replanned:
        return "the source's image timestamps differ from those the build planned with"
    start, stop = events.index_at(np.array([r.t0, r.t1], dtype=np.int64)).tolist()
    if (start, stop - start) != (r.event_start, r.source_events):
        return (
            f"record events [{r.event_start}, +{r.source_events}) differ from the source "
            f"window [{start}, +{stop - start})"
        )
    return None
