"""What the annotations of one split and duration came from, and how many were kept.

Written beside the JSON files; no timestamps, so the same answers give the same bytes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from egpt_dsec.answers.log import Answer
from egpt_dsec.answers.model import ActiveAnswers, Choices
from egpt_dsec.answers.select import FAILED, FIRST_REASONS, KEPT, LEFT_OUT, UNANSWERED, Outcome

HISTOGRAM_BINS = 10


def filter_reasons(choices: Choices) -> tuple[str, ...]:
    """The reasons counted: a record made before truncation and refusals were handled
    counts its first two only, so its files are rebuilt byte for byte."""
    if choices.keep_truncated is None:
        return FIRST_REASONS
    return tuple(r for r in LEFT_OUT if r not in (FAILED, UNANSWERED))


def count_outcomes(
    outcomes: Iterable[Outcome],
    reasons: tuple[str, ...] = FIRST_REASONS,
    answers: Iterable[Answer] | None = None,
) -> dict[str, Any]:
    """clips, answered, kept, filtered (total and by reason), failed, unanswered, unscored;
    with ``answers`` also the truncated and refused answers among them."""
    outcomes = list(outcomes)
    status = Counter(o.status for o in outcomes)
    filtered = {r: status[r] for r in reasons}
    counts = {
        "clips": len(outcomes),
        "answered": sum(1 for o in outcomes if o.answered),
        "kept": status[KEPT],
        "filtered": sum(filtered.values()),
        "filtered_by_reason": filtered,
        "failed": status[FAILED],
        "unanswered": status[UNANSWERED],
        "unscored": sum(1 for o in outcomes if o.answered and o.confidence is None),
    }
    if answers is not None:
        answered = [a for a in answers if a.ok]
        counts["truncated_answers"] = sum(a.truncated for a in answered)
        counts["refused_answers"] = sum(bool(a.refusal) for a in answered)
    return counts


def histogram(values: Iterable[float], bins: int = HISTOGRAM_BINS) -> dict[str, list[Any]]:
    """Counts of values in [0, 1/bins), ..., [(bins-1)/bins, 1] (1.0 in the last bin)."""
    counts = [0] * bins
    for value in values:
        counts[min(int(value * bins), bins - 1)] += 1
    return {"edges": [round(i / bins, 6) for i in range(bins + 1)], "counts": counts}


def provenance_record(
    active: ActiveAnswers, template: str, outcomes: list[Outcome], answers: list[Answer]
) -> dict[str, Any]:
    """Model, settings, prompt, choices, counts and confidence histogram of one group; the
    servers' fingerprints or versions when they sent one."""
    scored = [o.confidence for o in outcomes if o.answered and o.confidence is not None]
    choices = active.choices
    ok = [a for a in answers if a.ok]
    new = choices.keep_truncated is not None
    record = {
        "model": active.model,
        "sources": dict(sorted(Counter(a.source for a in ok).items())),
        "settings_key": active.key,
        "settings": active.settings,
        "prompt_template_sha256": active.settings.get("prompt_sha256"),
        "prompt_template": template,
        "questions": list(choices.questions),
        "select": choices.select,
        "min_confidence": choices.min_confidence,
        "counts": count_outcomes(outcomes, filter_reasons(choices), answers if new else None),
        "confidence_histogram": histogram(scored),
    }
    if new:
        record["keep_truncated"] = choices.keep_truncated
    servers = Counter(a.server for a in ok if a.server)
    if servers:
        record["servers"] = dict(sorted(servers.items()))
    return record


def read_provenance(path: Path) -> dict[str, Any] | None:
    """A provenance file's record, or None if it is missing or not one (a foreign or
    damaged file)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    needed = ("model", "settings_key", "settings", "questions", "select", "counts")
    if not isinstance(record, dict) or any(key not in record for key in needed):
        return None
    return record
