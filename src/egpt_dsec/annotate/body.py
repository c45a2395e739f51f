"""Chat-completion request bodies, built once per clip and spliced per question.

A body carries several hundred kB of base64 images; serializing it per question
would cost more than sending it. The image parts are serialized once per clip and
each question's text parts are spliced around them, so a body is one join of bytes.
The result is the JSON ``json.dumps`` would give for the same object (tests check).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from egpt_dsec.annotate.images import ImageCache
from egpt_dsec.annotate.model import ClipToAsk
from egpt_dsec.annotate.prompt import clip_images, fill, split_template
from egpt_dsec.annotate.settings import AnswerSettings


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def text_part(text: str) -> bytes:
    return b'{"type":"text","text":' + _json(text) + b"}"


def image_part(data_url: str) -> bytes:
    """A data URL is base64 and ASCII punctuation: nothing to escape."""
    return b'{"type":"image_url","image_url":{"url":"' + data_url.encode("ascii") + b'"}}'


@dataclass(frozen=True)
class PreparedClip:
    """A clip with its labelled images already serialized as content parts."""

    clip: ClipToAsk
    images_json: bytes
    frame_count: int
    event_image_count: int
    image_count: int


class BodyBuilder:
    """Turns (clip, question) into request bytes for one set of answer settings."""

    def __init__(self, settings: AnswerSettings, cache: ImageCache) -> None:
        self.settings = settings
        self.cache = cache
        self.head, self.tail = split_template(settings.prompt_template)
        self._prefix = b'{"model":' + _json(settings.model) + b',"messages":[{"role":"user",'
        self._suffix = b"]}]," + _json(self.sampling())[1:]

    def sampling(self) -> dict[str, object]:
        """The request fields after ``messages``: greedy by default, token logprobs on."""
        s = self.settings
        return {
            "max_tokens": s.max_tokens,
            "temperature": s.temperature,
            "logprobs": True,
            "top_logprobs": s.top_logprobs,
        }

    def prepare(self, clip: ClipToAsk) -> PreparedClip:
        """Decode/encode (or take from the cache) the clip's images; the slow step."""
        slots = clip_images(clip, self.settings.frames, self.settings.event_images)
        parts = []
        for slot in slots:
            parts.append(text_part(slot.label))
            parts.append(image_part(self.cache.data_url(slot.path)))
        events = len(clip.event_image_paths) if self.settings.event_images else 0
        frames = len(slots) - events
        return PreparedClip(clip, b",".join(parts), frames, events, len(slots))

    def body(self, prepared: PreparedClip, question: str) -> bytes:
        texts = [
            fill(t, prepared.clip, question, prepared.frame_count, prepared.event_image_count)
            for t in (self.head, self.tail)
        ]
        parts = [text_part(texts[0])] if texts[0] else []
        if prepared.images_json:
            parts.append(prepared.images_json)
        if texts[1]:
            parts.append(text_part(texts[1]))
        return self._prefix + b'"content":[' + b",".join(parts) + self._suffix
