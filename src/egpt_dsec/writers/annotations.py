"""The pieces every JSON item shares: the trainers' tokens, the question of a clip, the
empty answer turn, and the bytes of a list. Pure, and byte-identical on every run.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

EVENT_TOKEN, VIDEO_TOKEN = "<event>", "<video>"  # what each trainer's human turn starts with
VIDEOLLAVA_PATH_KEY = "video"  # Video-LLaVA names the MP4, relative to the mp4 folder

Items = list[dict[str, Any]]


def choose_question(entry_id: str, questions: tuple[str, ...]) -> str:
    """A stable pick from the question list (a hash of the id, not a random draw)."""
    return questions[zlib.crc32(entry_id.encode()) % len(questions)]


def conversation(token: str, question: str) -> list[dict[str, str]]:
    """A human turn (the trainer's token, then the question) and an empty answer turn."""
    return [
        {"from": "human", "value": f"{token}\n{question}"},
        {"from": "gpt", "value": ""},
    ]


def render_json(items: Items) -> bytes:
    return (json.dumps(items, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
