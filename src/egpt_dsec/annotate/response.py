"""Reading a chat-completion response body, the same for online and batch answers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from egpt_dsec.annotate.confidence import Confidence, confidence_from_logprobs


class MalformedResponse(ValueError):
    """The body is not a chat completion (cut, not JSON, or missing its fields)."""


@dataclass(frozen=True)
class Completion:
    text: str
    confidence: Confidence | None
    finish_reason: str
    completion_tokens: int
    prompt_tokens: int
    refusal: str = ""  # why there is no answer text: the model declined, or sent none
    server: str = ""  # system_fingerprint, when the server sent one
    cached_tokens: int = 0  # prompt tokens served from the server's prefix cache


def parse_completion(payload: bytes | dict[str, Any]) -> Completion:
    """A completion from a response body (bytes or already parsed). A null content is
    a refusal (the model declined, called a tool, or spent its budget reasoning), not
    a malformed body: asking again gives the same."""
    try:
        body = json.loads(payload) if isinstance(payload, bytes | bytearray) else payload
        choice = body["choices"][0]
        message = choice["message"]
        text = message["content"]  # a message without the key is no chat message
        if text is not None and not isinstance(text, str):
            raise TypeError(f"message content is {type(text).__name__}")
        finish = str(choice.get("finish_reason") or "")
        logprobs = _token_logprobs(choice.get("logprobs"))
        usage = body.get("usage") or {}
        details = usage.get("prompt_tokens_details") or {}
        return Completion(
            text=(text or "").strip(),
            confidence=confidence_from_logprobs(logprobs) if text else None,
            finish_reason=finish,
            completion_tokens=int(usage.get("completion_tokens") or len(logprobs)),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            refusal=_refusal(message, finish) if text is None or message.get("refusal") else "",
            server=str(body.get("system_fingerprint") or ""),
            cached_tokens=int(details.get("cached_tokens") or 0),
        )
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise MalformedResponse(f"not a chat completion: {type(exc).__name__}: {exc}") from None


def _refusal(message: dict[str, Any], finish_reason: str) -> str:
    """Why a message has no content, in the server's words where it gave some."""
    if message.get("refusal"):
        return f"refused: {str(message['refusal']).strip()}"
    if message.get("tool_calls"):
        return "no answer: the model called a tool"
    if finish_reason == "length":
        return "no answer: the token budget ran out before any answer (reasoning?)"
    if finish_reason == "content_filter":
        return "no answer: content filter"
    return f"no answer: null content (finish_reason {finish_reason or 'none'})"


def _token_logprobs(logprobs: Any) -> list[float]:
    """The sampled tokens' logprobs; [] when the server sent none."""
    if not logprobs or not logprobs.get("content"):
        return []
    return [float(token["logprob"]) for token in logprobs["content"]]


def error_text(error: Any) -> str | None:
    """The message of an error object in any of the shapes servers use: OpenAI's and
    vLLM's ``{"error": {"message": ...}}``, vLLM's older ``{"object": "error",
    "message": ...}``, FastAPI's ``{"detail": ...}``, or a plain string."""
    for _ in range(3):  # {"error": {"error": {...}}} at most
        if isinstance(error, str):
            return error.strip() or None
        if not isinstance(error, dict):
            return None
        if error.get("message"):
            return str(error["message"]).strip()
        if error.get("detail"):
            return str(error["detail"]).strip()
        error = error.get("error")
    return None


def error_message(status: int, payload: bytes) -> str:
    """The server's own message for an error status, else the start of its text."""
    try:
        message = error_text(json.loads(payload))
        if message:
            return f"HTTP {status}: {message}"
    except ValueError:
        pass
    text = payload[:300].decode("utf-8", "replace").strip()
    return f"HTTP {status}: {text or 'no message'}"


MM_LIMIT = re.compile(r"At most (\d+) (image|video)\(s\) may be provided in one prompt")


def media_limit(message: str) -> tuple[int, str] | None:
    """vLLM's refusal of more images (or videos) than ``--limit-mm-per-prompt`` allows:
    (limit, modality), else None."""
    found = MM_LIMIT.search(message)
    return (int(found.group(1)), found.group(2)) if found else None
