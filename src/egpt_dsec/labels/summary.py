"""How many questions of each task a group of clips got, and how their answers are
spread (so a bias is seen before training): pure, questions in, counts out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from egpt_dsec.labels.questions import Question
from egpt_dsec.labels.tasks import TASKS


def _key_order(key: str) -> tuple[int, float, str]:
    """Counts by value, other answers by name."""
    try:
        return (0, float(key), key)
    except ValueError:
        return (1, 0.0, key)


def summarize(questions: Iterable[Question]) -> dict[str, Any]:
    """``questions``, ``multiple_choice`` (items) per task, and ``answers``: per task, how
    many answers of each category (count value, yes/no, side and depth, ...)."""
    questions = list(questions)
    asked = Counter(q.task for q in questions)
    choices = Counter(q.task for q in questions if q.options)
    answers: dict[str, Counter[str]] = {task: Counter() for task in TASKS if asked[task]}
    for q in questions:
        answers[q.task][q.key] += 1
    return {
        "questions": {task: asked[task] for task in TASKS if asked[task]},
        "multiple_choice": {task: choices[task] for task in TASKS if choices[task]},
        "answers": {
            task: {key: found[key] for key in sorted(found, key=_key_order)}
            for task, found in answers.items()
        },
    }


def merge_summaries(summaries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The sum of several groups' summaries (same shape)."""
    total: dict[str, Any] = {"questions": Counter(), "multiple_choice": Counter(), "answers": {}}
    for s in summaries:
        total["questions"].update(s.get("questions", {}))
        total["multiple_choice"].update(s.get("multiple_choice", {}))
        for task, found in s.get("answers", {}).items():
            total["answers"].setdefault(task, Counter()).update(found)
    return {
        "questions": {t: total["questions"][t] for t in TASKS if total["questions"][t]},
        "multiple_choice": {
            t: total["multiple_choice"][t] for t in TASKS if total["multiple_choice"][t]
        },
        "answers": {
            t: {k: total["answers"][t][k] for k in sorted(total["answers"][t], key=_key_order)}
            for t in TASKS
            if t in total["answers"]
        },
    }


def distribution_text(answers: dict[str, int]) -> str:
    """``yes 50% (12), no 50% (12)``."""
    total = sum(answers.values())
    if not total:
        return "-"
    return ", ".join(f"{k} {100 * n / total:.0f}% ({n:,})" for k, n in answers.items())


# The per-group table of status and the card: its head, then ``group_cells`` per group.
GROUP_HEAD = ("split", "duration", "clips", "clips asked", *TASKS, "multiple choice")


def group_cells(group: dict[str, Any]) -> list[str]:
    """A summary's row (with its ``split`` and ``duration``): clips, clips asked, the
    questions of each task and the multiple-choice items, with thousands separators."""
    asked = group.get("questions", {})
    counts = [group.get("clips", 0), group.get("clips_asked", 0)]
    counts += [asked.get(task, 0) for task in TASKS]
    counts.append(sum(group.get("multiple_choice", {}).values()))
    return [group["split"], group["duration"], *(f"{n:,}" for n in counts)]
