"""The annotated JSON entries: the built entries with the kept answers in the gpt turns.

Pure: built entries + decisions in, entries out. The human turn starts with the
trainer's token (``<event>`` / ``<video>``) and the asked question; with several
turns the token is in the first one only. Scores go in ``answer_meta``, never in text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from egpt_dsec.answers.select import Outcome


@dataclass(frozen=True)
class AnswerSource:
    """Which model and settings gave the answers (copied into every entry's metadata)."""

    model: str
    settings_key: str


def conversation(token: str, outcome: Outcome) -> list[dict[str, str]]:
    turns: list[dict[str, str]] = []
    for n, turn in enumerate(outcome.turns):
        question = f"{token}\n{turn.answer.question}" if n == 0 else turn.answer.question
        turns.append({"from": "human", "value": question})
        turns.append({"from": "gpt", "value": turn.answer.text})
    return turns


def answer_meta(outcome: Outcome, source: AnswerSource) -> dict[str, Any]:
    """Clip-level confidence (the kept turn's, or the lowest turn's) and per-turn scores."""
    return {
        "model": source.model,
        "settings_key": source.settings_key,
        "confidence": outcome.confidence,
        "turns": [
            {
                "question_index": t.question_index,
                "confidence": t.answer.confidence,
                "min_token_prob": t.answer.min_token_prob,
                "tokens": t.answer.tokens,
                "finish_reason": t.answer.finish_reason,
            }
            for t in outcome.turns
        ],
    }


def annotate_items(
    items: list[dict[str, Any]],
    outcomes: Mapping[str, Outcome],
    token: str,
    source: AnswerSource,
) -> list[dict[str, Any]]:
    """The kept entries, in the built order, with answers; every other entry is left out."""
    annotated = []
    for item in items:
        outcome = outcomes.get(item["id"])
        if outcome is None or not outcome.kept:
            continue
        entry = {k: v for k, v in item.items() if k not in ("conversations", "answer_meta")}
        entry["conversations"] = conversation(token, outcome)
        entry["answer_meta"] = answer_meta(outcome, source)
        annotated.append(entry)
    return annotated
