"""Everything that decides an answer, and the key that names the answers it gave.

Answers are stored under the key, so a changed model, prompt or sampling setting
can never be mixed with old answers: the old ones stay under their own key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from egpt_dsec.annotate.images import JPEG_QUALITY, ImageOptions
from egpt_dsec.annotate.prompt import PROMPT_VERSION
from egpt_dsec.answers.errors import AnnotateError


@dataclass(frozen=True)
class AnswerSettings:
    """What the model is asked with; equal settings give equal requests, byte for byte."""

    model: str
    prompt_template: str
    frames: int = 8
    event_images: bool = False
    image: ImageOptions = field(default_factory=ImageOptions)
    temperature: float = 0.0
    max_tokens: int = 256
    top_logprobs: int = 0

    def __post_init__(self) -> None:
        if not self.model.strip():
            raise AnnotateError("--model is empty; name the model the server serves")
        if self.frames < 1:
            raise AnnotateError(f"--frames must be >= 1, got {self.frames}")
        if self.max_tokens < 1:
            raise AnnotateError(f"--max-tokens must be >= 1, got {self.max_tokens}")
        if not 0 <= self.temperature <= 2:
            raise AnnotateError(f"--temperature must be in [0, 2], got {self.temperature}")
        if not 0 <= self.top_logprobs <= 20:
            raise AnnotateError(f"top_logprobs must be in [0, 20], got {self.top_logprobs}")

    @property
    def prompt_sha256(self) -> str:
        return hashlib.sha256(self.prompt_template.encode("utf-8")).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """The settings as stored beside the answers (the template by its hash)."""
        return {
            "model": self.model,
            "prompt_sha256": self.prompt_sha256,
            "prompt_version": PROMPT_VERSION,
            "frames": self.frames,
            "event_images": self.event_images,
            "image_size": self.image.size_label,
            "image_format": self.image.format,
            "jpeg_quality": JPEG_QUALITY if self.image.format == "jpeg" else None,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_logprobs": self.top_logprobs,
        }

    @property
    def key(self) -> str:
        """16 hex digits of the sha256 of the canonical settings."""
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def describe_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``name: old -> new`` for every setting that differs."""
    return [
        f"{name}: {old.get(name)!r} -> {new.get(name)!r}"
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    ]
