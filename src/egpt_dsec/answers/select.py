"""Which questions a clip needs, and which answers it keeps (pure: no I/O).

``best`` asks every question and keeps the most confident answer (the replaced
method), ``one`` asks one question picked from the clip id, ``all`` keeps every
answer as a multi-turn conversation. A clip then enters the JSON, or is left out
for one counted reason. A refused answer is never chosen; a truncated one (cut at
the token cap) only with ``keep_truncated``.
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
TRUNCATED = "truncated"
REFUSED = "refused"
FAILED = "failed"
UNANSWERED = "unanswered"
LEFT_OUT = (LOW_CONFIDENCE, EMPTY_ANSWER, TRUNCATED, REFUSED, FAILED, UNANSWERED)
# The reasons a record made before truncation and refusals were handled can give.
FIRST_REASONS = (LOW_CONFIDENCE, EMPTY_ANSWER)


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
    keep_truncated: bool | None = None,
) -> Outcome:
    """Kept or left out; an answer without a confidence passes the filter (none to test).
    ``keep_truncated`` None is the rule of records made before it existed: keep them."""
    needed = questions_needed(mode, clip_id, len(questions))
    got = [(i, answers.get((clip_id, questions[i]))) for i in needed]
    if any(a is not None and not a.ok for _, a in got):
        return Outcome(clip_id, FAILED)
    turns = tuple(Turn(i, a) for i, a in got if a is not None)
    if len(turns) < len(needed):
        return Outcome(clip_id, UNANSWERED)
    drop_truncated = keep_truncated is False
    usable = tuple(t for t in turns if _usable(t.answer, drop_truncated))
    if mode == "best":
        usable = _most_confident(clip_id, usable, len(questions))
    elif len(usable) < len(turns):
        usable = ()
    if not usable:
        return Outcome(clip_id, _why_none(turns, drop_truncated))
    scores = [t.answer.confidence for t in usable if t.answer.confidence is not None]
    confidence = min(scores) if scores else None
    if confidence is not None and confidence < min_confidence:
        return Outcome(clip_id, LOW_CONFIDENCE, usable, confidence)
    return Outcome(clip_id, KEPT, usable, confidence)


def _usable(answer: Answer, drop_truncated: bool) -> bool:
    return bool(answer.text) and not answer.refusal and not (drop_truncated and answer.truncated)


def _why_none(turns: tuple[Turn, ...], drop_truncated: bool) -> str:
    """Why no answer could be kept: a truncated one was dropped, a refusal, or empty."""
    if drop_truncated and any(_usable(t.answer, False) and t.answer.truncated for t in turns):
        return TRUNCATED
    if any(t.answer.refusal for t in turns):
        return REFUSED
    return EMPTY_ANSWER


def _most_confident(clip_id: str, usable: tuple[Turn, ...], count: int) -> tuple[Turn, ...]:
    """The usable answer of highest confidence (ties: the lower question index).
    Unscored answers (a server without logprobs) fall back to ``one``'s pick."""
    scored = [t for t in usable if t.answer.confidence is not None]
    if scored:
        best = max(scored, key=lambda t: (t.answer.confidence, -t.question_index))
        return (best,)
    fallback = pick_question(clip_id, count)
    chosen = [t for t in usable if t.question_index == fallback] or list(usable[:1])
    return tuple(chosen)
