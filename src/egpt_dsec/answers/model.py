"""The answer set's record: which answers the JSON files show, and how they are chosen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Choices:
    """The options that decide the JSON but not the answers."""

    questions: tuple[str, ...]
    select: str
    min_confidence: float
    # None: recorded before truncated answers were handled (they were kept like others)
    keep_truncated: bool | None = None


@dataclass(frozen=True)
class ActiveAnswers:
    """The record of ``StateLayout.active_answers_file``."""

    key: str  # the settings key naming the answers log
    settings: dict[str, Any]  # what decides an answer (model, prompt hash, images, sampling)
    choices: Choices

    @property
    def model(self) -> str:
        return str(self.settings.get("model", ""))
