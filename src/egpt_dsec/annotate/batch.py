"""Offline answers: OpenAI Batch API request files out, result files in.

The request lines are exactly the online request bodies, so ``vllm run-batch`` or
the OpenAI Batch API give the answers the online client would; results go through
the same parser into the same answers log. ``custom_id`` is
``<clip id>:q<question index>:<tag>``, the tag naming the settings and question
list, so results are never merged under the wrong settings.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from egpt_dsec.annotate.body import BodyBuilder
from egpt_dsec.annotate.client import Reply
from egpt_dsec.annotate.model import ClipToAsk
from egpt_dsec.annotate.online import ClipWork, answer_from_reply
from egpt_dsec.annotate.response import (
    MalformedResponse,
    error_message,
    error_text,
    parse_completion,
)
from egpt_dsec.answers.errors import AnnotateError
from egpt_dsec.answers.log import Answer, AnswerKey

MAX_REQUESTS_PER_FILE = 50_000  # the OpenAI Batch API's limits per input file
MAX_BYTES_PER_FILE = 200_000_000
REQUEST_FILE = "requests-{number:04d}.jsonl"
BATCH_SOURCE = "batch"


def batch_tag(settings_key: str, questions: tuple[str, ...]) -> str:
    text = settings_key + "\n" + "\n".join(questions)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def custom_id(clip_id: str, index: int, tag: str) -> str:
    return f"{clip_id}:q{index}:{tag}"


def parse_custom_id(text: str) -> tuple[str, int, str] | None:
    parts = text.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].startswith("q") or not parts[1][1:].isdigit():
        return None
    return parts[0], int(parts[1][1:]), parts[2]


@dataclass(frozen=True)
class ExportStats:
    files: tuple[Path, ...]
    requests: int
    bytes: int


def export_batch(
    work: Iterable[ClipWork], questions: tuple[str, ...], builder: BodyBuilder, folder: Path
) -> ExportStats:
    """Write numbered request files (each within the Batch API limits) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(REQUEST_FILE.replace("{number:04d}", "*")):
        old.unlink()  # a previous export's files would be sent twice
    tag = batch_tag(builder.settings.key, questions)
    files = _Files(folder)
    try:
        for item in work:
            prepared = builder.prepare(item.clip)
            for index in item.question_indices:
                body = builder.body(prepared, questions[index])
                files.write(_request_line(custom_id(item.clip.id, index, tag), body))
    finally:
        files.close()
    return ExportStats(tuple(files.done), files.requests, files.total_bytes)


def _request_line(cid: str, body: bytes) -> bytes:
    head = {"custom_id": cid, "method": "POST", "url": "/v1/chat/completions"}
    return json.dumps(head, separators=(",", ":")).encode()[:-1] + b',"body":' + body + b"}\n"


class _Files:
    """Rolls to a new numbered file before a line would exceed a limit; each file is
    written under a temp name and renamed when complete."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.done: list[Path] = []
        self.requests = self.total_bytes = 0
        self._handle: IO[bytes] | None = None
        self._lines = self._bytes = 0

    def write(self, line: bytes) -> None:
        if len(line) > MAX_BYTES_PER_FILE:
            raise AnnotateError("one request is over 200 MB: lower --frames or --image-size")
        full = self._lines >= MAX_REQUESTS_PER_FILE or self._bytes + len(line) > MAX_BYTES_PER_FILE
        if self._handle is None or full:
            self.close()
            final = self.folder / REQUEST_FILE.format(number=len(self.done) + 1)
            self._handle = (self.folder / f".{final.name}.tmp-{os.getpid()}").open("wb")
            self.done.append(final)
            self._lines = self._bytes = 0
        self._handle.write(line)
        self._lines += 1
        self._bytes += len(line)
        self.requests += 1
        self.total_bytes += len(line)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            os.replace(self._handle.name, self.done[-1])
            self._handle = None


@dataclass
class ImportStats:
    lines: int = 0
    answered: int = 0
    failed: int = 0
    already: int = 0  # already answered in the log: kept, not replaced
    unknown: int = 0  # a clip this output does not have (or a question index out of range)
    unreadable: int = 0  # cut or malformed lines


def import_results(
    paths: Iterable[Path],
    clips: Mapping[str, ClipToAsk],
    questions: tuple[str, ...],
    tag: str,
    known: Mapping[AnswerKey, Answer],
) -> tuple[list[Answer], ImportStats]:
    """Answers from Batch API result files, checked against the tag of these options."""
    stats, answers, seen = ImportStats(), [], {k for k, a in known.items() if a.ok}
    for path, number, row in _rows(paths, stats):
        stats.lines += 1
        parsed = parse_custom_id(str(row.get("custom_id", "")))
        if parsed is not None and parsed[2] != tag:
            raise AnnotateError(
                f"{path} line {number}: custom_id {row['custom_id']!r} was exported with other "
                f"settings or questions (tag {parsed[2]}, these options give {tag}); import it "
                "with the options used for --export-batch"
            )
        if parsed is None or parsed[0] not in clips or parsed[1] >= len(questions):
            stats.unknown += 1
            continue
        clip, question = clips[parsed[0]], questions[parsed[1]]
        if (clip.id, question) in seen:
            stats.already += 1
            continue
        answer = answer_from_reply(clip, question, _reply(row), BATCH_SOURCE)
        if answer.ok:
            seen.add(answer.key)
        stats.answered += answer.ok
        stats.failed += not answer.ok
        answers.append(answer)
    return answers, stats


def _reply(row: dict[str, Any]) -> Reply:
    """A result line as the online client would have seen it. Errors come as OpenAI
    writes them (``error: {"code", "message"}``, or a non-200 ``response`` whose body
    is ``{"error": {...}}``) or as vLLM's ``run_batch`` does (``error`` holding its
    error response ``{"error": {"message": ...}}``, or a plain string)."""
    response, error = row.get("response") or {}, row.get("error")
    status, body = int(response.get("status_code") or 0), response.get("body")
    if error:
        message = error_text(error) or json.dumps(error)[:300]
        return Reply(None, f"batch error{f' (HTTP {status})' if status else ''}: {message}")
    if status != 200 or not isinstance(body, dict):
        return Reply(None, error_message(status, json.dumps(body).encode()))
    try:
        return Reply(parse_completion(body))
    except MalformedResponse as exc:
        return Reply(None, f"HTTP 200 but {exc}")


def _rows(paths: Iterable[Path], stats: ImportStats) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    for path in paths:
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise AnnotateError(f"--import-batch {path}: cannot open it ({exc.strerror})") from None
        with handle:
            for number, line in enumerate(handle, start=1):
                try:
                    row = json.loads(line)
                except ValueError:
                    row = None
                if isinstance(row, dict):
                    yield path, number, row
                elif line.strip():
                    stats.unreadable += 1
