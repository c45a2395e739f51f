"""``video``: each clip's camera frames as a folder, linked (not copied) to the frames.

Made when the clip ends, from DSEC's frame PNGs or, with ``--frames-view event``, from the
frames the unit warped into the event view once (kept in ``OUT/<split>/event_view_frames/``
and linked from every clip that holds them). A window that holds no frame (short
durations) gets no folder. ``verify`` checks each folder holds exactly its frames.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from egpt_dsec.fs import is_temp_name
from egpt_dsec.kinds.base import WINDOWS, ClipPart, Found, Kind
from egpt_dsec.kinds.contexts import (
    TEMP,
    CheckTask,
    Cost,
    CostModel,
    Problem,
    Throughput,
    Workload,
)
from egpt_dsec.layout.dsec import FRAME_NAME, frame_index
from egpt_dsec.layout.output import OutputLayout
from egpt_dsec.options import check_choices, option
from egpt_dsec.plan.clips import Clip
from egpt_dsec.render.warp import EVENT_VIEW_SIZE
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.frames import frame_size
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.writers.frames import FRAME_MODES, link_frames

FrameMode = Literal["hardlink", "copy", "symlink"]
_COMPARE_BLOCK = 1 << 20


@dataclass(frozen=True)
class FrameFolderOptions:
    frames: FrameMode = option(
        "hardlink",
        flag="--frames",
        help="hardlink, copy or symlink the frame PNGs into the clip folders (hardlink "
        "falls back to copy across file systems)",
        choices=FRAME_MODES,
        metavar="MODE",
    )

    def __post_init__(self) -> None:
        check_choices(self)


class FramesPart(ClipPart):
    """Links to the frame PNGs, made when the clip ends."""

    def close(self) -> None:
        c, ctx = self.clip, self.ctx
        with ctx.stats.timed("link_frames"):
            frames = ctx.frames.linked[c.frame_start : c.frame_stop]
            link_frames(frames, self.path(), self.options.frames)

    def commit(self) -> None:
        """Links are files without bytes of their own; copies (``--frames copy``) have them."""
        if self.options.frames != "copy":
            self.ctx.stats.files_linked(self.clip.frame_stop - self.clip.frame_start)
            return
        for path in sorted(self.path().iterdir()):
            self.count_file(path)


class VideoKind(Kind):
    def part_type(self, options: Any) -> type[ClipPart]:
        return FramesPart

    def writes_for(self, frames: int, options: Any) -> bool:
        return frames > 0

    def clip_cost(self, clip: Clip, events: int, options: Any, model: CostModel) -> Cost:
        frames = clip.frame_stop - clip.frame_start
        return Cost(frames, frames * model.frame_bytes if options.frames == "copy" else 0.0)

    def sequence_cost(
        self, clips: list[tuple[Clip, int]], options: Any, model: CostModel, event_view: bool
    ) -> Cost:
        """Event view: the warped frames, kept once per sequence."""
        if not event_view:
            return Cost()
        kept = kept_frames(clips)
        return Cost(kept, kept * model.frame_bytes)

    def cpu_seconds(self, work: Workload, options: Any, speed: Throughput) -> float:
        return work.kept_frames * (speed.decode_frame + speed.keep_frame)

    def check(self, task: CheckTask, options: Any, events: EventFile | None) -> Found:
        return video_problems(self, task)

    def obsolete(
        self, layout: OutputLayout, split: str, sequence: str, options: Any, event_view: bool
    ) -> list[Path]:
        """Frames an event-view build kept go once the folders link to DSEC's frames."""
        return [] if event_view else [layout.event_view_dir(split, sequence)]


VIDEO = VideoKind(
    "video",
    template="{sequence}/{clip}",
    entry_key="video_data",
    depends_on=(*WINDOWS, "frames_view"),
    options_type=FrameFolderOptions,
    title="the clip's frame folders",
    checked_by="exactly the clip's frames, each resolving to a non-empty file (the "
    "source's with --dsec-root); no folder for a window without frames",
)


def kept_frames(clips: list[tuple[Clip, int]]) -> int:
    """Event view: the frames warped and kept (those of the clips with events)."""
    return len({i for clip, events in clips if events for i in clip.frame_indices})


def video_problems(kind: Kind, task: CheckTask) -> list[Problem]:
    r = task.record
    folder = task.path(kind)
    if not task.present(kind, folder) or folder.is_symlink() or not folder.is_dir():
        return [task.problem(kind.name, folder, "frame folder missing")]
    try:
        present = {entry.name for entry in os.scandir(folder)}
    except OSError as exc:
        return [task.problem(kind.name, folder, f"cannot be listed ({exc})")]
    expected = _expected_frames(task, present)
    if expected is None:
        count = r.frame_stop - r.frame_start
        return [task.problem(kind.name, folder, f"{len(present)} frames, expected {count}")]
    problems = []
    for extra in sorted(present - set(expected)):
        component = TEMP if is_temp_name(extra) else kind.name
        problems.append(task.problem(component, folder / extra, "not a frame of this clip"))
    for name, source in expected.items():
        path = folder / name
        if name not in present:
            what: str | None = "frame missing"
        else:
            what = _frame_problem(path, source, task.event_view)
        if task.event_view:
            what = _event_view_problem(kind, task, path, source, problems) or what
        if what:
            problems.append(task.problem(kind.name, path, what))
    return problems


def _event_view_problem(
    kind: Kind, task: CheckTask, path: Path, kept: Path | None, problems: list[Problem]
) -> str | None:
    """A frame warped into the event view: with DSEC, its kept file is the source frame's
    warp (a bad one is reported itself, once, so ``--fix`` deletes it); without, 640x480."""
    warps = task.source.warps if task.source is not None else None
    index = frame_index(kept.name) if kept is not None else None
    if warps is not None and kept is not None and index is not None:
        what = warps.problem(index)
        if what and warps.first_report(index):
            problems.append(task.problem(kind.name, kept, what))
        return f"its event-view frame {kept} is bad" if what else None
    try:
        size = frame_size(path)
    except InputError as exc:
        return exc.problem
    if size != EVENT_VIEW_SIZE:
        want = "x".join(map(str, EVENT_VIEW_SIZE))
        return f"size {size[0]}x{size[1]}, expected {want} (the event view)"
    return None


def _expected_frames(task: CheckTask, present: set[str]) -> dict[str, Path | None] | None:
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
