"""What the model is shown: sampled frames and event images, labelled, around the question.

The template is text with the placeholders ``{images}`` (where the labelled images go),
``{question}``, ``{duration}`` (seconds), ``{frame_count}`` and ``{event_image_count}``.
The labels are code: change one and bump ``PROMPT_VERSION`` (it is in the settings key).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from egpt_dsec.annotate.model import ClipToAsk
from egpt_dsec.answers.errors import AnnotateError

PROMPT_VERSION = 1
PLACEHOLDERS = ("{images}", "{question}", "{duration}", "{frame_count}", "{event_image_count}")

DEFAULT_TEMPLATE = """\
The images below come from one {duration} s clip recorded by a car driving on public roads \
(the DSEC dataset). Camera frames are labelled with their time from the start of the clip; \
event-camera images, if any, show the clip's brightness changes (red: brighter, blue: darker), \
each a consecutive part of the clip.

{images}

Answer the question about the whole clip in a few sentences, describing only what is visible.
{question}"""


@dataclass(frozen=True)
class ImageSlot:
    """One image in the prompt: the label text before it and the file."""

    label: str
    path: Path


def check_template(text: str, source: str) -> str:
    """A template must place ``{images}`` and ``{question}`` exactly once each."""
    for needed in ("{images}", "{question}"):
        if text.count(needed) != 1:
            raise AnnotateError(
                f"{source}: the prompt template must contain {needed} exactly once "
                f"(found {text.count(needed)}); placeholders: {', '.join(PLACEHOLDERS)}"
            )
    return text


def load_template(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotateError(f"--prompt-template {path}: cannot read it ({exc})") from None
    return check_template(text, f"--prompt-template {path}")


def sample_indices(available: int, wanted: int) -> list[int]:
    """``wanted`` indices spread evenly over ``available``, first and last included:
    Video-LLaVA's ``np.linspace(0, n - 1, k, dtype=int)``; all of them when fewer."""
    if available <= wanted:
        return list(range(available))
    if wanted == 1:
        return [0]
    step = (available - 1) / (wanted - 1)
    return [int(i * step) for i in range(wanted - 1)] + [available - 1]


def clip_images(clip: ClipToAsk, frames: int, event_images: bool) -> list[ImageSlot]:
    """The labelled images of one clip: sampled frames, then (optionally) event images."""
    picked = sample_indices(len(clip.frame_paths), frames)
    slots = [
        ImageSlot(
            f"Camera frame {n + 1} of {len(picked)}, at {clip.frame_times_s[i]:.2f} s:",
            clip.frame_paths[i],
        )
        for n, i in enumerate(picked)
    ]
    if event_images:
        count = len(clip.event_image_paths)
        slots += [
            ImageSlot(f"Event-camera image {n + 1} of {count} (part {n + 1} of the clip):", p)
            for n, p in enumerate(clip.event_image_paths)
        ]
    return slots


def split_template(template: str) -> tuple[str, str]:
    """The text before and after ``{images}``."""
    head, tail = template.split("{images}")
    return head, tail


def fill(text: str, clip: ClipToAsk, question: str, frames: int, event_images: int) -> str:
    """Replace the text placeholders (only these: other braces stay as written)."""
    values = {
        "{duration}": f"{clip.duration_s:g}",
        "{frame_count}": str(frames),
        "{event_image_count}": str(event_images),
    }
    for name, value in values.items():
        text = text.replace(name, value)
    return text.replace("{question}", question).strip()
