"""Annotation counts for ``egpt-dsec status``, read from the small provenance files only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from egpt_dsec.annotate import dataset


@dataclass(frozen=True)
class AnswerCounts:
    """Clips of one split and duration at the end of the last annotate run.

    ``answered`` = kept + filtered; ``failed`` clips are retried by the next run.
    """

    clips: int
    answered: int
    kept: int
    filtered: int
    failed: int
    unanswered: int
    filtered_by_reason: dict[str, int] = field(default_factory=dict)
    model: str = ""


def annotation_status(out: Path) -> dict[tuple[str, str], AnswerCounts]:
    """(split, duration label) -> counts; groups never annotated are absent."""
    status = {}
    for group, path in dataset.provenance_files(out):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            c = record["counts"]
            status[group] = AnswerCounts(
                clips=c["clips"],
                answered=c["answered"],
                kept=c["kept"],
                filtered=c["filtered"],
                failed=c["failed"],
                unanswered=c["unanswered"],
                filtered_by_reason=dict(c["filtered_by_reason"]),
                model=record.get("model", ""),
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a foreign or damaged file: status shows the group as not annotated
    return status
