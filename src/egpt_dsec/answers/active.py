"""The answer set the JSON files show: which settings key, its settings, and the choices
(questions, selection, confidence filter) that decide what each clip keeps.

``annotate`` activates a set when it runs; every later JSON write (a build, a resume,
``verify --fix``) reads it back, so the answers never fall out of the files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from egpt_dsec.answers.entries import AnswerSource, annotate_items
from egpt_dsec.answers.errors import AnnotateError
from egpt_dsec.answers.log import AnswersLog
from egpt_dsec.answers.model import ActiveAnswers, Choices
from egpt_dsec.answers.provenance import provenance_record
from egpt_dsec.answers.select import Outcome, decide
from egpt_dsec.fs import atomic_write_bytes
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.writers.annotations import EVENT_TOKEN, VIDEO_TOKEN

Items = list[dict[str, Any]]


def describe_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """``name: old -> new`` for every setting that differs."""
    return [
        f"{name}: {old.get(name)!r} -> {new.get(name)!r}"
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    ]


def read_active(state: StateLayout) -> ActiveAnswers | None:
    path = state.active_answers_file
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        choices = data["choices"]
        return ActiveAnswers(
            data["key"],
            dict(data["settings"]),
            Choices(
                tuple(choices["questions"]),
                choices["select"],
                float(choices["min_confidence"]),
                choices.get("keep_truncated"),
            ),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AnnotateError(
            f"{path} is unreadable ({exc}); run egpt-dsec annotate again to rewrite it"
        ) from None


def activate(state: StateLayout, active: ActiveAnswers, template: str, reanswer: bool) -> None:
    """Make ``active`` the output's answer set; refuse other settings unless ``reanswer``
    (the old answers stay on disk under their own key)."""
    old = read_active(state)
    if old is not None and old.key != active.key and not reanswer:
        changes = describe_changes(old.settings, active.settings)
        raise AnnotateError(
            f"this output was annotated with other settings ({'; '.join(changes)}); "
            "pass --reanswer to answer again with the new ones (the old answers stay in "
            f"{state.answers_file(old.key, '', '').parent.parent}), or use the old settings"
        )
    record = json.dumps(_record(active), indent=1, sort_keys=True).encode()
    settings = json.dumps({"key": active.key, "settings": active.settings}, indent=1)
    atomic_write_bytes(state.answer_settings_file(active.key), settings.encode(), durable=True)
    atomic_write_bytes(state.answer_template_file(active.key), template.encode(), durable=True)
    atomic_write_bytes(state.active_answers_file, record, durable=True)


def _record(active: ActiveAnswers) -> dict[str, Any]:
    """The record as stored; ``keep_truncated`` only once it was chosen (older records
    have none, and their files are rebuilt as they were)."""
    record = asdict(active)
    if active.choices.keep_truncated is None:
        del record["choices"]["keep_truncated"]
    return record


class AnswerSet:
    """The active answers, applied to the JSON items of the groups they cover."""

    def __init__(self, state: StateLayout, active: ActiveAnswers) -> None:
        self.state, self.active = state, active
        self.log = AnswersLog(state, active.key)
        template = state.answer_template_file(active.key)
        self.template = template.read_text(encoding="utf-8") if template.is_file() else ""

    @staticmethod
    def load(state: StateLayout) -> AnswerSet | None:
        active = read_active(state)
        return None if active is None else AnswerSet(state, active)

    def covers(self, split: str, duration: str) -> bool:
        """Annotated groups have a log file; others keep their skeleton entries."""
        return self.log.path(split, duration).is_file()

    def outcomes(self, split: str, duration: str, ids: Iterable[str]) -> dict[str, Outcome]:
        """Each clip's decision, from the log and the active choices."""
        answers, c = self.log.read(split, duration), self.active.choices
        return {
            i: decide(c.select, i, c.questions, answers, c.min_confidence, c.keep_truncated)
            for i in ids
        }

    def apply(
        self, pair: tuple[Items, Items], outcomes: Mapping[str, Outcome]
    ) -> tuple[Items, Items]:
        """(EventGPT, Video-LLaVA) items with the kept answers; the rest left out."""
        source = AnswerSource(self.active.model, self.active.key)
        return (
            annotate_items(pair[0], outcomes, EVENT_TOKEN, source),
            annotate_items(pair[1], outcomes, VIDEO_TOKEN, source),
        )

    def provenance(self, split: str, duration: str, outcomes: Mapping[str, Outcome]) -> bytes:
        answers = [a for a in self.log.read(split, duration).values() if a.clip in outcomes]
        record = provenance_record(self.active, self.template, list(outcomes.values()), answers)
        return (json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
