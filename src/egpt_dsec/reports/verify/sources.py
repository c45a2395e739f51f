"""The DSEC sequences behind an output, for comparing clips with their input (``--dsec-root``)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.kinds import EVENT_NPY, MP4
from egpt_dsec.reports.verify.built import Built
from egpt_dsec.source.discover import discover_sequences
from egpt_dsec.source.frames import frame_size
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.source.timestamps import list_frames, read_timestamps
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


@dataclass(frozen=True)
class Source:
    """One DSEC sequence, read once: what its clips are compared with."""

    events: EventFiles
    timestamps: NDArray[np.int64]
    frame_paths: list[Path]
    video_size: tuple[int, int]
    replanned: bool  # its timestamps differ from those the build planned with


def load_sources(
    dsec_root: Path,
    sequences: Iterable[tuple[str, str]],
    built: Built,
    plans: dict[tuple[str, str], StoredPlan],
) -> dict[tuple[str, str], Source]:
    """Every (split, sequence) named, read once; a missing one is an input error."""
    camera, size_option = built.of(EVENT_NPY).camera, built.of(MP4).video.size
    sources: dict[tuple[str, str], Source] = {}
    for split, sequence in sorted(set(sequences)):
        files = discover_sequences(dsec_root, (split,), (sequence,), camera)[0].files
        timestamps = read_timestamps(files.timestamps)
        frames = list_frames(files.frames_dir, len(timestamps))
        size = video_size(*frame_size(frames[0]), size_option)
        EventFile(files.events_h5).close()  # raises InputError now, not in a worker
        plan = plans.get((split, sequence))
        replanned = plan is not None and plan.timestamps_sha256 != timestamps_digest(timestamps)
        events = EventFiles(files.events_h5)
        sources[(split, sequence)] = Source(events, timestamps, frames, size, replanned)
    return sources
