"""The DSEC sequences behind an output, for comparing clips with their input (``--dsec-root``)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.execute.event_stream import rectify_table
from egpt_dsec.execute.frame_source import FrameSource
from egpt_dsec.kinds import EVENT_NPY, MP4, VIDEO
from egpt_dsec.render.rectify import RectifyTable
from egpt_dsec.reports.verify.built import Built
from egpt_dsec.source.discover import discover_sequences
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.frames import decode_frame
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.source.timestamps import read_timestamps
from egpt_dsec.state.plans import StoredPlan, timestamps_digest
from egpt_dsec.writers.video_frame import video_size


class EventFiles:
    """Open events files of one sequence, reused by its clips (opening one takes ~30 ms).

    One per thread at a time: EventFile remembers where its last read ended.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._free: list[EventFile] = []
        self._opened: list[EventFile] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def use(self) -> Iterator[EventFile]:
        with self._lock:
            events = self._free.pop() if self._free else None
        if events is None:
            events = EventFile(self.path)
            with self._lock:
                self._opened.append(events)
        try:
            yield events
        finally:
            with self._lock:
                self._free.append(events)

    def close(self) -> None:
        with self._lock:
            for events in self._opened:
                events.close()
            self._free, self._opened = [], []


class WarpChecks:
    """Event view: each kept frame compared with its source frame warped afresh, once
    per sequence however many clip folders link to it (from any thread)."""

    def __init__(self, frames: FrameSource) -> None:
        self.frames = frames
        self._found: dict[int, str | None] = {}
        self._reported: set[int] = set()
        self._lock = threading.Lock()

    def first_report(self, i: int) -> bool:
        """True once per bad frame: the clip that reports the kept file itself."""
        with self._lock:
            first = i not in self._reported
            self._reported.add(i)
        return first

    def problem(self, i: int) -> str | None:
        with self._lock:
            if i in self._found:
                return self._found[i]
        what = self._compare(i)
        with self._lock:
            self._found[i] = what
        return what

    def _compare(self, i: int) -> str | None:
        try:
            kept = decode_frame(self.frames.warped[i])
            fresh = self.frames.warp(i)
        except InputError as exc:
            return exc.problem
        if kept.shape != fresh.shape:
            (h, w), (fh, fw) = kept.shape[:2], fresh.shape[:2]
            return f"size {w}x{h}, expected {fw}x{fh}"
        if not np.array_equal(kept, fresh):
            return "differs from its source frame warped into the event view"
        return None


@dataclass(frozen=True)
class Source:
    """One DSEC sequence, read once: what its clips are compared with."""

    events: EventFiles
    timestamps: NDArray[np.int64]
    frames: FrameSource  # in the view the build wrote
    video_size: tuple[int, int]
    replanned: bool  # its timestamps differ from those the build planned with
    rectify: RectifyTable | None = None  # the build rectified the events
    warps: WarpChecks | None = None  # event view


def load_sources(
    dsec_root: Path,
    sequences: Iterable[tuple[str, str]],
    built: Built,
    plans: dict[tuple[str, str], StoredPlan],
) -> dict[tuple[str, str], Source]:
    """Every (split, sequence) named, read once; a missing one is an input error."""
    camera, video = built.of(EVENT_NPY).camera, built.of(VIDEO)
    sources: dict[tuple[str, str], Source] = {}
    for split, sequence in sorted(set(sequences)):
        found = discover_sequences(dsec_root, (split,), (sequence,), camera)[0]
        timestamps = read_timestamps(found.files.timestamps)
        frames = FrameSource.of(found, video, len(timestamps))
        size = video_size(*frames.size(), built.options(MP4).size)
        EventFile(found.files.events_h5).close()  # raises InputError now, not in a worker
        plan = plans.get((split, sequence))
        replanned = plan is not None and plan.timestamps_sha256 != timestamps_digest(timestamps)
        sources[(split, sequence)] = Source(
            EventFiles(found.files.events_h5),
            timestamps,
            frames,
            size,
            replanned,
            rectify_table(found, built.of(EVENT_NPY)),
            WarpChecks(frames) if frames.event_view else None,
        )
    return sources
