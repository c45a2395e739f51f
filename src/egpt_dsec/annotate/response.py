"""Reading a chat-completion response body, the same for online and batch answers."""

from __future__ import annotations

import json
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


def parse_completion(payload: bytes | dict[str, Any]) -> Completion:
    """A completion from a response body (bytes or already parsed)."""
    try:
        body = json.loads(payload) if isinstance(payload, bytes | bytearray) else payload
        choice = body["choices"][0]
        text = choice["message"]["content"]
        if not isinstance(text, str):
            raise TypeError(f"message content is {type(text).__name__}")
        logprobs = _token_logprobs(choice.get("logprobs"))
        usage = body.get("usage") or {}
        return Completion(
            text=text.strip(),
            confidence=confidence_from_logprobs(logprobs),
            finish_reason=str(choice.get("finish_reason") or ""),
            completion_tokens=int(usage.get("completion_tokens") or len(logprobs)),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
        )
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise MalformedResponse(f"not a chat completion: {type(exc).__name__}: {exc}") from None


def _token_logprobs(logprobs: Any) -> list[float]:
    """The sampled tokens' logprobs; [] when the server sent none."""
    if not logprobs or not logprobs.get("content"):
        return []
    return [float(token["logprob"]) for token in logprobs["content"]]


def error_message(status: int, payload: bytes) -> str:
    """The server's own message for an error status (OpenAI / vLLM shape), else the text."""
    try:
        body = json.loads(payload)
        error = body.get("error", body) if isinstance(body, dict) else body
        message = error.get("message") if isinstance(error, dict) else None
        if message:
            return f"HTTP {status}: {message}"
    except ValueError:
        pass
    text = payload[:300].decode("utf-8", "replace").strip()
    return f"HTTP {status}: {text or 'no message'}"
