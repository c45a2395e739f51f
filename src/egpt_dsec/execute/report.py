"""What jobs tell the driver: results that add up, and progress messages."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Protocol


@dataclass
class JobStats:
    """Counters of one job; they add up over jobs into the build's totals."""

    clips_planned: int = 0
    clips_built: int = 0
    clips_skipped: int = 0
    clips_empty: int = 0
    events_in_clips: int = 0  # events written into clips (each copy counted)
    events_decoded: int = 0  # events read from the HDF5 (window scans included)
    events_in_sequence: int = 0
    frames_decoded: int = 0
    frames_in_sequence: int = 0
    frames_encoded: int = 0
    files_written: int = 0
    bytes_written: int = 0

    def __add__(self, other: JobStats) -> JobStats:
        return JobStats(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass
class JobResult:
    """The outcome of one job: its counters, the durations it had no room for, or an error."""

    key: str  # split/sequence
    stats: JobStats = field(default_factory=JobStats)
    too_short_for: tuple[str, ...] = ()
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class Reporter(Protocol):
    """Receives progress from running jobs (a terminal bar, log lines, or nothing)."""

    def job_started(self, key: str, clips_todo: int, events_todo: int) -> None: ...

    def clip_done(self, key: str, events: int) -> None: ...

    def job_finished(self, result: JobResult) -> None: ...


class NullReporter:
    def job_started(self, key: str, clips_todo: int, events_todo: int) -> None:
        pass

    def clip_done(self, key: str, events: int) -> None:
        pass

    def job_finished(self, result: JobResult) -> None:
        pass
