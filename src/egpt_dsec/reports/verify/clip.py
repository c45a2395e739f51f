"""Check one clip: its record first, then each file the record says was written."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from egpt_dsec.reports.verify.images import image_parts, image_problems
from egpt_dsec.reports.verify.mp4 import Mp4Size, mp4_problems
from egpt_dsec.reports.verify.npy import npy_problems
from egpt_dsec.reports.verify.records import record_problems
from egpt_dsec.reports.verify.report import Problem
from egpt_dsec.reports.verify.task import ClipTask
from egpt_dsec.reports.verify.video import video_problems
from egpt_dsec.source.h5events import EventFile


@dataclass
class ClipResult:
    """What one clip's check found; ``verify_output`` merges these as they come back."""

    problems: list[Problem] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    mp4: Mp4Size | None = None  # for the check that a sequence's MP4s share one size


def check_clip(task: ClipTask) -> ClipResult:
    """Runs in a worker thread; with DSEC it borrows one open events file of the sequence."""
    if task.source is None:
        return _check_clip(task, None)
    with task.source.events.use() as events:
        return _check_clip(task, events)


def _check_clip(task: ClipTask, events: EventFile | None) -> ClipResult:
    result = ClipResult()
    r = task.record
    result.checked["manifest"] += 1
    result.problems += record_problems(task, events)
    if result.problems:
        return result  # the files cannot be judged against a wrong record
    if r.empty:
        result.checked["empty"] += 1
        result.problems += _empty_clip_problems(task)
        return result
    if "event_npy" in r.components and task.options.event_format == "npy":
        result.checked["event_npy"] += 1
        result.problems += npy_problems(task, events)
    if "event_image" in r.components:
        result.checked["event_image"] += r.parts
        result.problems += image_problems(task)
    if "video" in r.components:
        result.checked["video"] += 1
        result.problems += video_problems(task)
    if "mp4" in r.components:
        result.checked["mp4"] += 1
        problems, result.mp4 = mp4_problems(task)
        result.problems += problems
    return result


def _empty_clip_problems(task: ClipTask) -> list[Problem]:
    """A window without events writes no files: anything found is stale."""
    single = {
        "event_npy": task.layout.event_npy(*task.path_args),
        "video": task.layout.video_dir(*task.path_args),
        "mp4": task.layout.mp4(*task.path_args),
    }
    found = [path for component, path in single.items() if path.name in task.listing[component]]
    found += [path for _, path in image_parts(task)]
    what = "clip has no events but this file exists"
    return [task.problem("empty", path, what) for path in found]
