"""The card's answers section (pure): which model answered with which settings, the
questions it was really asked, and per split and duration how many clips were answered,
kept and left out (and why), from the provenance files ``annotate`` leaves."""

from __future__ import annotations

import json
import re
from typing import Any

from egpt_dsec.humanize import markdown_table
from egpt_dsec.writers.card_facts import AnswerFacts, AnswerGroup, CardFacts

# The settings a reader most needs first (the rest follow in name order).
_FIRST = ("model", "temperature", "max_tokens", "top_logprobs", "frames", "event_images")
_SELECT = {
    "best": "every clip was asked every question and\nkeeps its most confident answer "
    "(`--select best`)",
    "one": "every clip was asked one of them, picked\nfrom its id (`--select one`)",
    "all": "every clip was asked every question and\nkeeps every answer, as turns of one "
    "conversation (`--select all`)",
}
_REASONS = {"low_confidence": "low confidence", "empty_answer": "empty answer"}


def fence(text: str, language: str = "") -> list[str]:
    """A fenced code block that no backtick run inside ``text`` can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return [f"{ticks}{language}", *text.splitlines(), ticks]


def _numbered(questions: tuple[str, ...]) -> list[str]:
    return [f"{i}. {q}" for i, q in enumerate(questions, 1)]


def _settings(answers: AnswerFacts) -> list[str]:
    settings = dict(answers.settings)
    names = [n for n in _FIRST if n in settings]
    names += sorted(n for n in settings if n not in _FIRST)
    rows = [f"| `{n}` | `{_text(settings[n])}` |" for n in names]
    rows += [
        f"| `select` | `{answers.select}` |",
        f"| `min_confidence` | `{answers.min_confidence!r}` |",
    ]
    return ["| setting | value |", "|---|---|", *rows]


def _text(value: Any) -> str:
    """A setting as its JSON spelling (``null``, ``true``) or plain text."""
    return value if isinstance(value, str) else json.dumps(value)


def _counts_table(groups: list[AnswerGroup]) -> list[str]:
    found = {r for g in groups for r in g.counts.get("filtered_by_reason", {})}
    reasons = [r for r in _REASONS if r in found] + sorted(found - set(_REASONS))
    head = ["split", "duration", "clips", "answered", "kept", "filtered"]
    head += [f"filtered: {_REASONS.get(r, r.replace('_', ' '))}" for r in reasons]
    head += ["failed", "not asked yet", "without confidence", "answers online", "from a batch"]
    rows = [head]
    for g in groups:
        by_reason = g.counts.get("filtered_by_reason", {})
        numbers = [g.counts.get(k, 0) for k in ("clips", "answered", "kept", "filtered")]
        numbers += [by_reason.get(r, 0) for r in reasons]
        numbers += [g.counts.get(k, 0) for k in ("failed", "unanswered", "unscored")]
        numbers += [g.sources.get("online", 0), g.sources.get("batch", 0)]
        rows.append([g.split, g.duration, *(f"{n:,}" for n in numbers)])
    return markdown_table(rows)


def _answer_set(answers: AnswerFacts) -> list[str]:
    kept = sum(g.counts.get("kept", 0) for g in answers.groups)
    clips = sum(g.counts.get("clips", 0) for g in answers.groups)
    return [
        f"The answer turns were written by `{answers.model}` through `egpt-dsec annotate`",
        f"(settings key `{answers.key}`): {kept:,} of {clips:,} clips kept an answer; the",
        "others are left out of the JSON files. Each file's `annotations.provenance.json`",
        "holds these facts, the prompt and a histogram of the confidences.",
        "",
        *_settings(answers),
        "",
        f"The {len(answers.questions)} questions asked: {_SELECT.get(answers.select, '')}.",
        "",
        *_numbered(answers.questions),
        "",
        *_counts_table(answers.groups),
        "",
        "- answered = kept + filtered; failed clips are asked again by the next run.",
        f"- filtered: the answer's confidence was under {answers.min_confidence!r}, or it",
        "  was empty; without confidence: the server sent no token probabilities, so the",
        "  confidence filter could not apply (such answers are kept).",
        "- answers online / from a batch: answers (one per question asked), by how they",
        "  were obtained.",
        "",
        "<details><summary>The prompt template</summary>",
        "",
        *fence(answers.prompt_template or "(not recorded)", "text"),
        "",
        "</details>",
    ]


def answers_section(facts: CardFacts) -> list[str]:
    """What the answer turns hold: a model's answers, or nothing yet."""
    lines: list[str] = []
    answered = {(g.split, g.duration) for a in facts.answers for g in a.groups}
    for answers in facts.answers:
        lines += [*_answer_set(answers), ""]
    waiting = [
        f"{s.split}/{s.duration}"
        for s in facts.stats
        if s.clips and (s.split, s.duration) not in answered
    ]
    if not waiting:
        return lines[:-1]
    if facts.answers:
        lines.append(f"Not annotated, so with empty answer turns: {', '.join(waiting)}.")
    else:
        lines += [
            "None yet: every entry's answer turn is empty. `egpt-dsec annotate` fills them",
            "with a vision-language model's answers.",
        ]
    return [
        *lines,
        "",
        "Their human turns ask one of the build's questions, picked from the clip id:",
        "",
        *_numbered(facts.build_questions),
    ]
