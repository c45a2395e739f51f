"""The questions asked about every clip, and the stable per-clip pick of ``--select one``."""

from __future__ import annotations

import zlib
from pathlib import Path

from egpt_dsec.answers.errors import AnnotateError

# EventGPT's 10 most frequent DSEC questions, verbatim, most frequent first.
DEFAULT_QUESTIONS: tuple[str, ...] = (
    "What are the key elements in this scene?",
    "Can you elaborate on the elements of the scene provided?",
    "What is this scene about?",
    "What is the layout of the road in the scene?",
    "What type of vehicles are present in the scene and how are they positioned?",
    "What do you think is going on in this scene?",
    "What elements are present in the scene?",
    "What do you see happening in this scene?",
    "Describe the following scene.",
    "What types of vehicles are present in the scene and how are they positioned?",
)


def load_questions(path: Path) -> tuple[str, ...]:
    """One question per non-blank line; a missing, unreadable or empty file is an error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AnnotateError(
            f"--questions {path}: no such file; give a text file with one question per line"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotateError(f"--questions {path}: cannot read it ({exc})") from None
    questions = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not questions:
        raise AnnotateError(f"--questions {path}: the file has no question; write one per line")
    if len(set(questions)) != len(questions):
        raise AnnotateError(f"--questions {path}: a question is listed twice; list each once")
    return questions


def pick_question(clip_id: str, count: int) -> int:
    """A stable pick from ``count`` questions: crc32 of the clip id, never a random draw."""
    return zlib.crc32(clip_id.encode("utf-8")) % count
