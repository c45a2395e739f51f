"""A manifest record checked against itself and, with DSEC, the plan and the events file.

The files cannot be judged against a wrong record, so this check comes first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from egpt_dsec.durations import Duration
from egpt_dsec.manifest import MANIFEST_DIR
from egpt_dsec.plan.clips import nearest_frame
from egpt_dsec.reports.verify.report import FILE_COMPONENTS, Problem
from egpt_dsec.reports.verify.task import ClipTask
from egpt_dsec.source.h5events import EventFile


def record_problems(task: ClipTask, events: EventFile | None) -> list[Problem]:
    what = _record_problem(task, events)
    return [task.problem("manifest", _manifest_path(task), what)] if what else []


def _manifest_path(task: ClipTask) -> Path:
    """Where a record problem is shown (a sharded sequence keeps it in ``<seq>@NNN.jsonl``)."""
    return task.layout.state_dir / MANIFEST_DIR / task.split / f"{task.sequence}.jsonl"


def _record_problem(task: ClipTask, events: EventFile | None) -> str | None:
    r = task.record
    try:
        duration = Duration.parse(r.duration)
    except ValueError as exc:
        return f"record has a bad duration: {exc}"
    unknown = set(r.components) - set(FILE_COMPONENTS)
    if unknown:
        return f"record names unknown components {sorted(unknown)}"
    if r.t1 - r.t0 != duration.us or r.num_events < 0 or r.parts < 1:
        return f"record is inconsistent (t0 {r.t0}, t1 {r.t1}, events {r.num_events})"
    if r.frame_stop < r.frame_start:
        return f"record frames [{r.frame_start}, {r.frame_stop}) are reversed"
    if task.source is None or events is None:
        return None
    plan = task.source.plans[r.duration]
    if r.clip >= len(plan):
        return f"clip {r.clip} is not in the plan of the source ({len(plan)} windows)"
    clip = plan[r.clip]
    got = (r.t0, r.t1, r.frame_start, r.frame_stop)
    want = (clip.t0, clip.t1, clip.frame_start, clip.frame_stop)
    if got != want:
        return f"record window/frames {got} differ from the source plan {want}"
    if r.image_idx >= 0 and r.image_idx != nearest_frame(task.source.timestamps, r.t1):
        return f"record image_idx {r.image_idx} is not the frame nearest time_end"
    start, stop = events.index_at(np.array([r.t0, r.t1], dtype=np.int64)).tolist()
    if (start, stop - start) != (r.event_start, r.num_events):
        return (
            f"record events [{r.event_start}, +{r.num_events}) differ from the source "
            f"window [{start}, +{stop - start})"
        )
    return None
