"""One clip to check, with everything a worker thread needs to check it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from egpt_dsec.durations import Duration
from egpt_dsec.layout import OutputLayout
from egpt_dsec.manifest import ClipKey, ClipRecord
from egpt_dsec.reports.verify.options import RecordedOptions
from egpt_dsec.reports.verify.report import FILE_COMPONENTS, ClipId, Problem, duration_order
from egpt_dsec.reports.verify.sources import Source

Listing = dict[str, frozenset[str]]  # component -> names in its sequence folder


@dataclass(frozen=True)
class ClipTask:
    split: str
    sequence: str
    record: ClipRecord
    layout: OutputLayout
    options: RecordedOptions
    listing: Listing
    source: Source | None

    @property
    def duration(self) -> Duration:
        return Duration.parse(self.record.duration)

    @property
    def path_args(self) -> tuple[str, Duration, str, int]:
        """(split, duration, sequence, clip): what OutputLayout takes to name a clip's file."""
        return (self.split, self.duration, self.sequence, self.record.clip)

    @property
    def clip_id(self) -> ClipId:
        return (self.split, self.sequence, self.record.duration, self.record.clip)

    def problem(self, component: str, path: Path, what: str) -> Problem:
        return Problem(path, component, *self.clip_id, what)


def sequence_tasks(
    layout: OutputLayout,
    split: str,
    sequence: str,
    records: dict[ClipKey, ClipRecord],
    options: RecordedOptions,
    source: Source | None,
) -> Iterator[ClipTask]:
    """A sequence's clip tasks in output order; each folder is listed once, when reached."""
    listings: dict[str, Listing] = {}
    for record in sorted(records.values(), key=lambda r: (duration_order(r.duration), r.clip)):
        label = record.duration
        if label not in listings:
            listings[label] = _listing(layout.root / split / label, sequence)
        yield ClipTask(split, sequence, record, layout, options, listings[label], source)


def _listing(duration_dir: Path, sequence: str) -> Listing:
    """Names in each component's sequence folder: one listing instead of a stat per file."""
    listing = {}
    for component in FILE_COMPONENTS:
        try:
            names = frozenset(
                entry.name for entry in os.scandir(duration_dir / component / sequence)
            )
        except OSError:
            names = frozenset()
        listing[component] = names
    return listing
