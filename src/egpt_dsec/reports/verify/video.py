"""A clip's frame folder: exactly its frames, each a non-empty file (with DSEC, the source's);
in the event view each is 640x480 (with DSEC, the kept file and the source's warp)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from egpt_dsec.config import EVENT_VIEW
from egpt_dsec.fs import is_temp_name
from egpt_dsec.kinds import VIDEO
from egpt_dsec.layout.dsec import FRAME_NAME, frame_index
from egpt_dsec.render.warp import EVENT_VIEW_SIZE
from egpt_dsec.reports.verify.report import TEMP, Problem
from egpt_dsec.reports.verify.task import ClipTask
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.frames import frame_size

_COMPARE_BLOCK = 1 << 20


def video_problems(task: ClipTask) -> list[Problem]:
    r = task.record
    folder = task.path(VIDEO)
    if folder.name not in task.listing[VIDEO.name] or folder.is_symlink() or not folder.is_dir():
        return [task.problem(VIDEO.name, folder, "frame folder missing")]
    try:
        present = {entry.name for entry in os.scandir(folder)}
    except OSError as exc:
        return [task.problem(VIDEO.name, folder, f"cannot be listed ({exc})")]
    expected = _expected_frames(task, present)
    if expected is None:
        count = r.frame_stop - r.frame_start
        return [task.problem(VIDEO.name, folder, f"{len(present)} frames, expected {count}")]
    problems = []
    for extra in sorted(present - set(expected)):
        component = TEMP if is_temp_name(extra) else VIDEO.name
        problems.append(task.problem(component, folder / extra, "not a frame of this clip"))
    event_view = task.built.of(VIDEO).frames_view == EVENT_VIEW
    for name, source in expected.items():
        path = folder / name
        if name not in present:
            what: str | None = "frame missing"
        else:
            what = _frame_problem(path, source, event_view)
        if event_view:
            what = _event_view_problem(task, path, source, problems) or what
        if what:
            problems.append(task.problem(VIDEO.name, path, what))
    return problems


def _event_view_problem(
    task: ClipTask, path: Path, kept: Path | None, problems: list[Problem]
) -> str | None:
    """A frame warped into the event view: with DSEC, its kept file is the source frame's
    warp (a bad one is reported itself, once, so ``--fix`` deletes it); without, 640x480."""
    warps = task.source.warps if task.source is not None else None
    index = frame_index(kept.name) if kept is not None else None
    if warps is not None and kept is not None and index is not None:
        what = warps.problem(index)
        if what and warps.first_report(index):
            problems.append(task.problem(VIDEO.name, kept, what))
        return f"its event-view frame {kept} is bad" if what else None
    try:
        size = frame_size(path)
    except InputError as exc:
        return exc.problem
    if size != EVENT_VIEW_SIZE:
        want = "x".join(map(str, EVENT_VIEW_SIZE))
        return f"size {size[0]}x{size[1]}, expected {want} (the event view)"
    return None


def _expected_frames(task: ClipTask, present: set[str]) -> dict[str, Path | None] | None:
    """Frame name -> its source frame (None without DSEC); None if the count alone is wrong."""
    r = task.record
    if task.source is not None:
        return {p.name: p for p in task.source.frames.linked[r.frame_start : r.frame_stop]}
    indices = {name: frame_index(name) for name in present}
    if all(i is not None for i in indices.values()):
        # Without DSEC, frame i has DSEC's name for it; any zero padding is accepted.
        numbered = {i: name for name, i in indices.items()}
        return {
            numbered.get(i, FRAME_NAME.format(index=i)): None
            for i in range(r.frame_start, r.frame_stop)
        }
    if len(present) != r.frame_stop - r.frame_start:
        return None
    return dict.fromkeys(present)


def _frame_problem(path: Path, source: Path | None, event_view: bool = False) -> str | None:
    """A frame resolves to a non-empty file, and (with DSEC) is or equals the source frame
    (in the event view: the frame the build warped once for every clip)."""
    try:
        info = path.stat()  # follows a symlink: a dangling one fails here
    except OSError as exc:
        return f"does not resolve ({exc.strerror})"
    if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
        return "not a non-empty file"
    if source is None:
        return None
    try:
        if os.path.samefile(path, source) or _same_bytes(path, source):
            return None
    except OSError as exc:
        return f"cannot be compared with {source} ({exc})"
    return f"differs from the {'event-view' if event_view else 'source'} frame {source}"


def _same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            block = fa.read(_COMPARE_BLOCK)
            if block != fb.read(_COMPARE_BLOCK):
                return False
            if not block:
                return True
