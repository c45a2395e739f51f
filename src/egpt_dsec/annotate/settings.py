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
from egpt_dsec.annotate.prompt import EVEN, FRAME_PICKS, PROMPT_VERSION
from egpt_dsec.answers.errors import AnnotateError
from egpt_dsec.answers.tokens import family_of, is_openai_reasoning


@dataclass(frozen=True)
class AnswerSettings:
    """What the model is asked with; equal settings give equal requests, byte for byte.

    ``frame_pick`` is ``even`` (``frames`` spread over the clip) or ``image_idx`` (the
    clip's reference frame alone, ``--preset legacy``); ``video`` sends the clip's MP4
    instead of frames; ``labels`` puts a line of text before each image.
    """

    model: str
    prompt_template: str
    frames: int = 8
    event_images: bool = False
    image: ImageOptions = field(default_factory=ImageOptions)
    temperature: float = 0.0
    max_tokens: int = 256
    top_logprobs: int = 0
    seed: int | None = 0
    video: bool = False
    labels: bool = True
    frame_pick: str = EVEN
    with_labels: bool = False  # the clip's labelled objects, listed after its images

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
        if self.frame_pick not in FRAME_PICKS:
            raise AnnotateError(f"frame pick must be one of {FRAME_PICKS}, not {self.frame_pick}")

    @property
    def family(self) -> str | None:
        """The model family named by ``model`` (None: unknown)."""
        return family_of(self.model)

    @property
    def reasoning(self) -> bool:
        """An OpenAI reasoning model: ``max_completion_tokens``, no temperature, no logprobs."""
        return is_openai_reasoning(self.model)

    @property
    def token_field(self) -> str:
        """OpenAI's models take ``max_completion_tokens`` (its o-series and gpt-5 refuse
        ``max_tokens``); vLLM, SGLang and others ``max_tokens``."""
        return "max_completion_tokens" if self.family == "openai" else "max_tokens"

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
            "seed": self.seed,
            "video": self.video,
            "labels": self.labels,
            "frame_pick": self.frame_pick,
            "with_labels": self.with_labels,
            "image_detail": self.image.detail,
            "token_field": self.token_field,
            "logprobs": not self.reasoning,
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
