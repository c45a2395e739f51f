"""Check one clip: its record first, then each file the record says was written."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from egpt_dsec.kinds import EVENT_IMAGE, EVENT_NPY, FILE_KINDS, MP4, VIDEO
from egpt_dsec.reports.verify.images import image_parts, image_problems
from egpt_dsec.reports.verify.mp4 import Mp4Size, mp4_problems
from egpt_dsec.reports.verify.npy import npy_problems
from egpt_dsec.reports.verify.records import record_problems
from egpt_dsec.reports.verify.report import EMPTY, RECORDS, Problem
from egpt_dsec.reports.verify.task import ClipTask
from egpt_dsec.reports.verify.video import video_problems
from egpt_dsec.source.h5events import EventFile


@dataclass
class ClipResult:
    """What one clip's check found; ``verify_output`` merges these as they come back."""

    problems: list[Problem] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    mp4: Mp4Size | None = None  # for the check that a sequence's MP4s share one size

    def add(self, found: Found) -> None:
        if isinstance(found, tuple):
            found, self.mp4 = found
        self.problems += found


Found = list[Problem] | tuple[list[Problem], Mp4Size | None]  # MP4s also report their size
Check = Callable[[ClipTask, EventFile | None], Found]

# How verify checks each file kind (``kinds.OutputKind.checked_by`` says it in words).
CHECKS: dict[str, Check] = {
    EVENT_NPY.name: npy_problems,
    EVENT_IMAGE.name: lambda task, _: image_problems(task),
    VIDEO.name: lambda task, _: video_problems(task),
    MP4.name: lambda task, _: mp4_problems(task),
}


def check_clip(task: ClipTask) -> ClipResult:
    """Runs in a worker thread; with DSEC it borrows one open events file of the sequence."""
    if task.source is None:
        return _check_clip(task, None)
    with task.source.events.use() as events:
        return _check_clip(task, events)


def _check_clip(task: ClipTask, events: EventFile | None) -> ClipResult:
    result = ClipResult()
    r = task.record
    result.checked[RECORDS] += 1
    result.problems += record_problems(task, events)
    if result.problems:
        return result  # the files cannot be judged against a wrong record
    if r.empty:
        result.checked[EMPTY] += 1
        result.problems += _empty_clip_problems(task)
        return result
    for kind in FILE_KINDS:
        if kind.name not in r.components:
            continue
        if kind is EVENT_NPY and task.built.of(EVENT_NPY).event_format == "ref":
            continue  # the events stay in the source: no file to check
        result.checked[kind.name] += r.parts if kind is EVENT_IMAGE else 1
        result.add(CHECKS[kind.name](task, events))
    return result


def _empty_clip_problems(task: ClipTask) -> list[Problem]:
    """A window without events writes no files: anything found is stale."""
    found = [
        path
        for kind in (EVENT_NPY, VIDEO, MP4)
        if (path := task.path(kind)).name in task.listing[kind.name]
    ]
    found += [path for _, path in image_parts(task)]
    what = "clip has no events but this file exists"
    return [task.problem(EMPTY, path, what) for path in found]
