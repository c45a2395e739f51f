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
from egpt_dsec.annotate.prompt import (
    EVEN,
    clip_images,
    fill,
    labelled_objects,
    legend,
    split_template,
    video_slot,
)
from egpt_dsec.annotate.settings import AnswerSettings


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def text_part(text: str) -> bytes:
    return b'{"type":"text","text":' + _json(text) + b"}"


def image_part(data_url: str, detail: str | None = None) -> bytes:
    """A data URL is base64 and ASCII punctuation: nothing to escape."""
    tail = b'"}}' if detail is None else b'","detail":' + _json(detail) + b"}}"
    return b'{"type":"image_url","image_url":{"url":"' + data_url.encode("ascii") + tail


def video_part(data_url: str) -> bytes:
    """A ``video_url`` part (vLLM's, for models that take video)."""
    return b'{"type":"video_url","video_url":{"url":"' + data_url.encode("ascii") + b'"}}'


@dataclass(frozen=True)
class PreparedClip:
    """A clip with its labelled images already serialized as content parts."""

    clip: ClipToAsk
    images_json: bytes
    frame_count: int
    event_image_count: int
    image_count: int  # image parts (a video is one part besides)
    legend: str = ""


class BodyBuilder:
    """Turns (clip, question) into request bytes for one set of answer settings."""

    def __init__(self, settings: AnswerSettings, cache: ImageCache) -> None:
        self.settings = settings
        self.cache = cache
        self.head, self.tail = split_template(settings.prompt_template)
        self._prefix = b'{"model":' + _json(settings.model) + b',"messages":[{"role":"user",'
        self._suffix = b"]}]," + _json(self.sampling())[1:]

    def sampling(self) -> dict[str, object]:
        """The request fields after ``messages``: greedy by default, token logprobs on, a
        seed; ``max_completion_tokens`` for OpenAI's models. Its reasoning models (o1,
        o3, gpt-5...) refuse a temperature and logprobs: none are sent to them."""
        s = self.settings
        fields: dict[str, object] = {s.token_field: s.max_tokens}
        if not s.reasoning:
            fields |= {"temperature": s.temperature, "logprobs": True}
            fields["top_logprobs"] = s.top_logprobs
        if s.seed is not None:
            fields["seed"] = s.seed
        return fields

    def prepare(self, clip: ClipToAsk) -> PreparedClip:
        """Decode/encode (or take from the cache) the clip's images; the slow step."""
        s = self.settings
        slots = [video_slot(clip, s.labels)] if s.video else []
        frames, pick = (0, EVEN) if s.video else (s.frames, s.frame_pick)
        slots += clip_images(clip, frames, s.event_images, pick, s.labels)
        parts = []
        for n, slot in enumerate(slots):
            if clip.ensure is not None:
                clip.ensure(slot.path)
            if slot.label:
                parts.append(text_part(slot.label))
            if s.video and n == 0:
                parts.append(video_part(self.cache.data_url(slot.path, video=True)))
            else:
                parts.append(image_part(self.cache.data_url(slot.path), s.image.detail))
        if s.with_labels and clip.labelled_objects is not None:
            parts.append(text_part(labelled_objects(clip.labelled_objects)))
        events = len(clip.event_image_paths) if s.event_images else 0
        images = len(slots) - (1 if s.video else 0)
        counts = (len(clip.frame_paths) if s.video else images - events, events)
        text = legend(clip, s.video, s.event_images)
        return PreparedClip(clip, b",".join(parts), counts[0], events, images, text)

    def body(self, prepared: PreparedClip, question: str) -> bytes:
        counts = (prepared.frame_count, prepared.event_image_count)
        texts = [
            fill(t, prepared.clip, question, counts, prepared.legend)
            for t in (self.head, self.tail)
        ]
        parts = [text_part(texts[0])] if texts[0] else []
        if prepared.images_json:
            parts.append(prepared.images_json)
        if texts[1]:
            parts.append(text_part(texts[1]))
        return self._prefix + b'"content":[' + b",".join(parts) + self._suffix
