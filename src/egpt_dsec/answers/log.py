"""The answers log: every answered request, appended and fsynced as it arrives.

One JSON-lines file per settings key, split and duration (``StateLayout.answers_file``),
one line per request outcome. A run asks only what has no ``ok`` line; a kill loses at
most the requests in flight (a cut last line is skipped on read). Answers of another
settings key are never touched.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from egpt_dsec.fs import open_for_append, read_json_lines
from egpt_dsec.layout.state import StateLayout

AnswerKey = tuple[str, str]  # (clip id, question text)


@dataclass(frozen=True)
class Answer:
    """The outcome of one request: an answer with its scores, or the server's error."""

    split: str
    duration: str
    clip: str
    question: str
    ok: bool
    text: str = ""
    confidence: float | None = None
    min_token_prob: float | None = None
    tokens: int = 0
    finish_reason: str = ""
    error: str = ""
    source: str = ""  # "online <host>" or "batch"
    refusal: str = ""  # the model declined (refusal text, or why the content was null)
    server: str = ""  # the reply's system_fingerprint, or the server's version

    @property
    def truncated(self) -> bool:
        """Cut at the token cap (``finish_reason: "length"``)."""
        return self.ok and self.finish_reason == "length"

    @property
    def key(self) -> AnswerKey:
        return (self.clip, self.question)

    def to_line(self) -> bytes:
        return json.dumps(vars(self), ensure_ascii=False, separators=(",", ":")).encode() + b"\n"

    @staticmethod
    def from_row(row: dict[str, Any]) -> Answer | None:
        try:
            return Answer(**row)
        except TypeError:
            return None


def latest(answers: Iterable[Answer]) -> dict[AnswerKey, Answer]:
    """Per request: the first ``ok`` answer (never re-asked), else the latest failure."""
    out: dict[AnswerKey, Answer] = {}
    for answer in answers:
        old = out.get(answer.key)
        if old is None or not old.ok:
            out[answer.key] = answer
    return out


class AnswersLog:
    """The log of one settings key; appends are whole lines, flushed and fsynced."""

    def __init__(self, state: StateLayout, key: str) -> None:
        self.state, self.key = state, key
        self._handles: dict[tuple[str, str], IO[bytes]] = {}
        self._lock = threading.Lock()  # the online writer appends from a thread

    def path(self, split: str, duration: str) -> Path:
        return self.state.answers_file(self.key, split, duration)

    def read(self, split: str, duration: str) -> dict[AnswerKey, Answer]:
        rows = read_json_lines(self.path(split, duration))
        return latest(a for a in map(Answer.from_row, rows) if a is not None)

    def append(self, answers: Iterable[Answer]) -> None:
        """Whole lines, flushed and fsynced: once this returns, the answers survive a
        kill and a power cut. Safe to call from several threads."""
        with self._lock:
            touched = set()
            for answer in answers:
                group = (answer.split, answer.duration)
                handle = self._handles.get(group)
                if handle is None:
                    handle = self._handles[group] = open_for_append(self.path(*group))
                handle.write(answer.to_line())
                touched.add(handle)
            for handle in touched:
                handle.flush()
                os.fsync(handle.fileno())

    def close(self) -> None:
        with self._lock:
            for handle in self._handles.values():
                handle.close()
            self._handles.clear()
