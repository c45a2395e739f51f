"""Check one clip: its record first, then each kind's files the record says were written."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from egpt_dsec.kinds import FILE_KINDS, CheckTask, Kind, Problem
from egpt_dsec.reports.verify.built import Built
from egpt_dsec.reports.verify.records import record_problems
from egpt_dsec.reports.verify.report import EMPTY, RECORDS
from egpt_dsec.reports.verify.sources import EventFiles
from egpt_dsec.source.h5events import EventFile


@dataclass
class ClipResult:
    """What one clip's check found; ``verify_output`` merges these as they come back."""

    problems: list[Problem] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    facts: dict[str, Any] = field(default_factory=dict)  # kind -> what it keeps for later


def check_clip(task: CheckTask, built: Built, events: EventFiles | None) -> ClipResult:
    """Runs in a worker thread; with DSEC it borrows one open events file of the sequence."""
    if events is None:
        return _check_clip(task, built, None)
    with events.use() as opened:
        return _check_clip(task, built, opened)


def _check_clip(task: CheckTask, built: Built, events: EventFile | None) -> ClipResult:
    result = ClipResult()
    r = task.record
    result.checked[RECORDS] += 1
    result.problems += record_problems(task, events)
    if result.problems:
        return result  # the files cannot be judged against a wrong record
    if r.empty:
        result.checked[EMPTY] += 1
        result.problems += _stale_files(task, FILE_KINDS, EMPTY, "clip has no events")
        return result
    for kind in FILE_KINDS:
        if kind.name not in r.components:
            continue
        options = built.options(kind)
        if not kind.writes(r, options):
            why = f"clip gets no {kind.name} file"
            result.problems += _stale_files(task, (kind,), kind.name, why)
            continue
        result.checked[kind.name] += kind.file_count(r, options)
        found = kind.check(task, options, events)
        if isinstance(found, tuple):
            found, result.facts[kind.name] = found
        result.problems += found
    return result


def _stale_files(
    task: CheckTask, kinds: tuple[Kind, ...], component: str, why: str
) -> list[Problem]:
    """A clip that writes no file of these kinds: anything found is stale."""
    return [
        task.problem(component, path, f"{why} but this file exists")
        for kind in kinds
        for path in kind.files_of(task)
    ]
