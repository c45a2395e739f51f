"""A clip's label questions: each task's facts, phrased, with their multiple-choice
options and evidence. Pure: the same boxes, window, tasks and seed give the same
questions, in task order, each task's in the order its definition gives them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from egpt_dsec.labels.choices import WRONG, wrong_values
from egpt_dsec.labels.phrasing import (
    CHOICE_PRESENCE,
    PHRASINGS,
    answer_key,
    answer_text,
    option_text,
    question_text,
)
from egpt_dsec.labels.rank import by_rank, pick
from egpt_dsec.labels.tasks import DEFINITIONS, PRESENCE, TASKS, Fact
from egpt_dsec.labels.tracks import Tracks
from egpt_dsec.labels.window import ClipLabels

SOURCE = "labels"  # answer_meta.source of an answer read from the labels


@dataclass(frozen=True)
class Question:
    """One question about a clip, its answer from the labels, and its evidence."""

    id: str  # <clip id>_<task>_<n>: n-th question of the task about the clip
    fact: Fact
    question: str
    answer: str
    key: str  # the answer's category (answer distributions)
    choice_question: str = ""  # the multiple-choice item's question ("" when none)
    options: tuple[str, ...] = ()  # its four options
    right: int = -1  # the index of the right one

    @property
    def task(self) -> str:
        return self.fact.task

    def meta(self) -> dict[str, Any]:
        """``answer_meta`` of the answer: where it came from and its evidence."""
        return {
            "source": SOURCE,
            "task": self.fact.task,
            "class": self.fact.class_name,
            "track_ids": list(self.fact.track_ids),
            "label_times": list(self.fact.label_times),
        }


def _choices(fact: Fact, c: ClipLabels, qid: str) -> tuple[tuple[str, ...], int]:
    """Four options in seeded order and the right one's index; none without three wrong."""
    wrong = wrong_values(fact, c, qid)
    if len(wrong) < WRONG:
        return (), -1
    right = option_text(fact.task, fact.class_id if fact.task == PRESENCE else fact.value)
    texts = [right, *(option_text(fact.task, v) for v in wrong)]
    if len(set(texts)) != len(texts):
        raise AssertionError(f"{qid}: options repeat ({texts})")
    ordered = by_rank(texts, c.seed, qid, "options")
    return tuple(ordered), ordered.index(right)


def ask(fact: Fact, c: ClipLabels, qid: str) -> Question:
    phrasing = pick(len(PHRASINGS[fact.task]), c.seed, qid, "phrasing")
    question = question_text(fact, phrasing, c.t0)
    options, right = _choices(fact, c, qid)
    choice = CHOICE_PRESENCE if fact.task == PRESENCE else question
    key = answer_key(fact, (c.t1 - c.t0) / 1e6)
    return Question(qid, fact, question, answer_text(fact), key, choice if options else "",
                    options, right)  # fmt: skip


def clip_questions(
    tracks: Tracks,
    t0: int,
    t1: int,
    tasks: Iterable[str] = TASKS,
    seed: int = 0,
    clip_id: str = "",
) -> list[Question]:
    """Every question of ``tasks`` about the window ``[t0, t1)`` of a sequence's boxes."""
    c = ClipLabels.of(tracks, t0, t1, seed, clip_id)
    wanted = set(tasks)
    found = []
    for task in TASKS:
        if task in wanted:
            for n, fact in enumerate(DEFINITIONS[task](c)):
                found.append(ask(fact, c, f"{clip_id}_{task}_{n}"))
    return found
