"""Which questions a clip needs, and which answers it keeps (pure: no I/O).

``best`` asks every question and keeps the most confident answer (the replaced
method), ``one`` asks one question picked from the clip id, ``all`` keeps every
answer as a multi-turn conversation. A clip then enters the JSON, or is left out
for one counted reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from egpt_dsec.answers.log import Answer, AnswerKey
from egpt_dsec.answers.questions import pick_question

SELECT_MODES: tuple[str, ...] = ("best", "one", "all")
KEPT = "kept"
LOW_CONFIDENCE = "low_confidence"
EMPTY_ANSWER = "empty_answer"
FAILED = "failed"
UNANSWERED = "unanswered"
LEFT_OUT = (LOW_CONFIDENCE, EMPTY_ANSWER, FAILED, UNANSWERED)


def questions_needed(mode: str, clip_id: str, count: int) -> tuple[int, ...]:
    if mode == "one":
        return (pick_question(clip_id, count),)
    return tuple(range(count))


@dataclass(frozen=True)
class Turn:
    question_index: int
    answer: Answer


@dataclass(frozen=True)
class Outcome:
    """A clip's decision: the turns it keeps, its confidence, and kept or why not."""

    clip_id: str
    status: str
    turns: tuple[Turn, ...] = ()
    confidence: float | None = None  # the kept turn's; with ``all`` the lowest turn's

    @property
    def kept(self) -> bool:
        return self.status == KEPT

    @property
    def answered(self) -> bool:
        return self.status not in (FAILED, UNANSWERED)


def decide(
    mode: str,
    clip_id: str,
    questions: tuple[str, ...],
    answers: Mapping[AnswerKey, Answer],
    min_confidence: float,
) -> Outcome:
    """Kept or left out; an answer without a confidence passes the filter (none to test)."""
    needed = questions_needed(mode, clip_id, len(questions))
    got = [(i, answers.get((clip_id, questions[i]))) for i in needed]
    if any(a is not None and not a.ok for _, a in got):
        return Outcome(clip_id, FAILED)
    turns = tuple(Turn(i, a) for i, a in got if a is not None)
    if len(turns) < len(needed):
        return Outcome(clip_id, UNANSWERED)
    if mode == "best":
        turns = _most_confident(clip_id, turns, len(questions))
    if not turns or any(not t.answer.text for t in turns):
        return Outcome(clip_id, EMPTY_ANSWER)
    scores = [t.answer.confidence for t in turns if t.answer.confidence is not None]
    confidence = min(scores) if scores else None
    if confidence is not None and confidence < min_confidence:
        return Outcome(clip_id, LOW_CONFIDENCE, turns, confidence)
    return Outcome(clip_id, KEPT, turns, confidence)


def _most_confident(clip_id: str, turns: tuple[Turn, ...], count: int) -> tuple[Turn, ...]:
    """The non-empty answer of highest confidence (ties: the lower question index).
    Unscored answers (a server without logprobs) fall back to ``one``'s pick."""
    candidates = [t for t in turns if t.answer.text]
    scored = [t for t in candidates if t.answer.confidence is not None]
    if scored:
        best = max(scored, key=lambda t: (t.answer.confidence, -t.question_index))
        return (best,)
    fallback = pick_question(clip_id, count)
    chosen = [t for t in candidates if t.question_index == fallback] or candidates[:1]
    return tuple(chosen)
