"""The DSEC sequences behind an output, for comparing clips with their input (``--dsec-root``)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from egpt_dsec.durations import Duration
from egpt_dsec.plan.clips import Clip, plan_windows
from egpt_dsec.reports.verify.options import RecordedOptions
from egpt_dsec.source.discover import discover_sequences
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.source.timestamps import list_frames, read_timestamps
from egpt_dsec.writers.mp4 import video_size


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
    plans: dict[str, list[Clip]]  # duration label -> planned windows


def load_sources(
    dsec_root: Path,
    sequences: Iterable[tuple[str, str]],
    labels: set[str],
    options: RecordedOptions,
) -> dict[tuple[str, str], Source]:
    """Every (split, sequence) named, read once; a missing one is an input error."""
    sources: dict[tuple[str, str], Source] = {}
    for split, sequence in sorted(set(sequences)):
        found = discover_sequences(dsec_root, (split,), (sequence,), options.camera)[0]
        timestamps = read_timestamps(found.timestamps_path)
        frames = list_frames(found.frames_dir, len(timestamps))
        with Image.open(frames[0]) as first:
            size = video_size(first.width, first.height, options.video_size)
        EventFile(found.events_path).close()  # raises InputError now, not in a worker
        plans = {
            label: plan_windows(timestamps, Duration.parse(label), options.overlap)
            for label in labels
        }
        events = EventFiles(found.events_path)
        sources[(split, sequence)] = Source(events, timestamps, frames, size, plans)
    return sources
