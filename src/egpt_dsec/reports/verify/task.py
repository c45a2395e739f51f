"""The clips to check, each with everything a worker thread needs to check it."""

from __future__ import annotations

import os
from collections.abc import Iterator

from egpt_dsec.durations import Duration
from egpt_dsec.kinds import FILE_KINDS, VIDEO, CheckTask
from egpt_dsec.kinds.contexts import Listing, SourceView
from egpt_dsec.layout.output import OutputLayout
from egpt_dsec.reports.verify.built import Built
from egpt_dsec.reports.verify.report import duration_order
from egpt_dsec.state.manifest import ClipKey, ClipRecord
from egpt_dsec.state.plans import StoredPlan


def sequence_tasks(
    layout: OutputLayout,
    split: str,
    sequence: str,
    records: dict[ClipKey, ClipRecord],
    built: Built,
    plan: StoredPlan | None,
    source: SourceView | None,
) -> Iterator[CheckTask]:
    """A sequence's clip tasks in output order; each folder is listed once, when reached."""
    listings: dict[str, Listing] = {}
    event_view = built.event_view(VIDEO)
    for record in sorted(records.values(), key=lambda r: (duration_order(r.duration), r.clip)):
        label = record.duration
        if label not in listings:
            listings[label] = _listing(layout, split, label, sequence)
        yield CheckTask(split, sequence, record, layout, listings[label], plan, source, event_view)


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
