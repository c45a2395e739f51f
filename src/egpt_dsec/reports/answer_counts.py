"""Annotation counts for ``egpt-dsec status``, read from the small provenance files only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from egpt_dsec.config.record import load_last_config
from egpt_dsec.durations import Duration
from egpt_dsec.layout.state import StateLayout


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
    state = StateLayout(out)
    if not state.last_build_file.is_file():
        return {}
    layout = load_last_config(state).output
    status = {}
    for split, duration, _ in state.annotations_files():
        group, path = (split, duration), layout.provenance_json(split, Duration.parse(duration))
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
