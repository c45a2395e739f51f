"""One clip to check, with everything a worker thread needs to check it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from egpt_dsec.durations import Duration
from egpt_dsec.kinds import FILE_KINDS, OutputKind
from egpt_dsec.layout.output import OutputLayout
from egpt_dsec.reports.verify.built import Built
from egpt_dsec.reports.verify.report import ClipId, Problem, duration_order
from egpt_dsec.reports.verify.sources import Source
from egpt_dsec.state.manifest import ClipKey, ClipRecord
from egpt_dsec.state.plans import StoredPlan

Listing = dict[str, frozenset[str]]  # kind -> names in its sequence folder


@dataclass(frozen=True)
class ClipTask:
    split: str
    sequence: str
    record: ClipRecord
    layout: OutputLayout
    built: Built
    listing: Listing
    plan: StoredPlan | None  # the plan the build stored for the sequence
    source: Source | None  # the DSEC sequence, with --dsec-root

    @property
    def duration(self) -> Duration:
        return Duration.parse(self.record.duration)

    @property
    def clip_id(self) -> ClipId:
        return (self.split, self.sequence, self.record.duration, self.record.clip)

    def path(self, kind: OutputKind, part: int = 0) -> Path:
        """The clip's file of ``kind`` (its folder, for frames)."""
        r = self.record
        return self.layout.clip_path(kind, self.split, self.duration, self.sequence, r.clip, part)

    def problem(self, component: str, path: Path, what: str) -> Problem:
        return Problem(path, component, *self.clip_id, what)


def sequence_tasks(
    layout: OutputLayout,
    split: str,
    sequence: str,
    records: dict[ClipKey, ClipRecord],
    built: Built,
    plan: StoredPlan | None,
    source: Source | None,
) -> Iterator[ClipTask]:
    """A sequence's clip tasks in output order; each folder is listed once, when reached."""
    listings: dict[str, Listing] = {}
    for record in sorted(records.values(), key=lambda r: (duration_order(r.duration), r.clip)):
        label = record.duration
        if label not in listings:
            listings[label] = _listing(layout, split, label, sequence)
        yield ClipTask(split, sequence, record, layout, built, listings[label], plan, source)


def _listing(layout: OutputLayout, split: str, label: str, sequence: str) -> Listing:
    """Names in each kind's sequence folder: one listing instead of a stat per file.
    (A record with a bad duration label lists nothing; its record check reports it.)"""
    listing = {kind.name: frozenset[str]() for kind in FILE_KINDS}
    try:
        duration = Duration.parse(label)
    except ValueError:
        return listing
    for kind in FILE_KINDS:
        try:
            folder = layout.sequence_dir(split, duration, kind, sequence)
            names = frozenset(entry.name for entry in os.scandir(folder))
        except OSError:
            names = frozenset()
        listing[kind.name] = names
    return listing
