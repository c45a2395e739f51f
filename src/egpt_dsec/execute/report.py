"""What jobs tell the driver: results that add up, and progress messages."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Protocol

# Fields that combine by maximum, not sum, across jobs.
_MAX_FIELDS = {"peak_rss_bytes"}
# Stages are timed on a job's lane threads too; one lock for every job in the process.
_TIMING = threading.Lock()


@dataclass
class JobStats:
    """Counters of one job; they add up over jobs into the build's totals."""

    clips_planned: int = 0
    clips_built: int = 0
    clips_skipped: int = 0
    clips_empty: int = 0
    events_in_clips: int = 0  # events written into clips (each copy counted)
    events_dropped: int = 0  # --rectify-events: clip events outside the view (copies counted)
    events_decoded: int = 0  # events read from the HDF5 (window scans included)
    events_in_sequence: int = 0  # events of the part of the sequence this job owns
    frames_decoded: int = 0
    frames_in_sequence: int = 0
    frames_encoded: int = 0
    images_written: int = 0
    files_written: int = 0
    bytes_written: dict[str, int] = field(default_factory=dict)  # component -> bytes
    stage_seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_bytes: int = 0
    cpu_seconds: float = 0.0  # CPU time of the job's process while it ran (all its threads)

    def __add__(self, other: JobStats) -> JobStats:
        merged = JobStats()
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, dict):
                value: object = {k: a.get(k, 0) + b.get(k, 0) for k in sorted(set(a) | set(b))}
            elif f.name in _MAX_FIELDS:
                value = max(a, b)
            else:
                value = a + b
            setattr(merged, f.name, value)
        return merged

    def add_bytes(self, component: str, size: int) -> None:
        self.bytes_written[component] = self.bytes_written.get(component, 0) + size

    def file_written(self, kind: str, size: int) -> None:
        """One file of ``kind`` in place, ``size`` bytes."""
        self.files_written += 1
        self.add_bytes(kind, size)

    def files_linked(self, count: int) -> None:
        """Links to existing files (frame folders): files, but no bytes of their own."""
        self.files_written += count

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Add the wall time of the block to ``stage_seconds[stage]`` (from any thread:
        stages that run side by side add up to more than the job's wall time)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            with _TIMING:
                self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + elapsed


@dataclass
class JobResult:
    """The outcome of one job: its counters, or an error."""

    key: str  # split/sequence[@shard]
    stats: JobStats = field(default_factory=JobStats)
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class Reporter(Protocol):
    """Receives progress from running jobs (a terminal bar, log lines, or nothing).

    Totals are known before the first clip (``build_started``); events count SOURCE
    events read from the HDF5 (each once), not their copies into clips.
    """

    def build_started(self, units: int, clips: int, events: int) -> None:
        """Once, before any job runs: work units, clips to build, source events to read."""

    def job_started(self, key: str) -> None: ...

    def events_read(self, key: str, events: int) -> None: ...

    def clip_done(self, key: str) -> None: ...

    def job_finished(self, result: JobResult) -> None: ...


class NullReporter:
    def build_started(self, units: int, clips: int, events: int) -> None:
        pass

    def job_started(self, key: str) -> None:
        pass

    def events_read(self, key: str, events: int) -> None:
        pass

    def clip_done(self, key: str) -> None:
        pass

    def job_finished(self, result: JobResult) -> None:
        pass
