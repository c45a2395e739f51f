"""What the model is shown: sampled frames and event images, labelled, around the question.

The template is text with the placeholders ``{images}`` (where the labelled images go),
``{question}``, ``{duration}`` (seconds), ``{frame_count}``, ``{event_image_count}`` and
``{legend}`` (how to read what is shown, in the build's event-image style: ``gray``
images have no red or blue). The labels and legends are code: change one and bump
``PROMPT_VERSION`` (it is in the settings key).

Prefix reuse: the question comes last, after every image, so all questions of a clip
share their first bytes and a server's prefix cache computes the images once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from egpt_dsec.annotate.model import ClipToAsk
from egpt_dsec.answers.errors import AnnotateError
from egpt_dsec.answers.prompts import DEFAULT_TEMPLATE as DEFAULT_TEMPLATE  # the built-in ones
from egpt_dsec.answers.prompts import EVEN as EVEN  # the frame picks, shared with the cost
from egpt_dsec.answers.prompts import (
    EVENT_LABEL,
    EVENTS_LEGEND,
    FRAME_LABEL,
    FRAMES_LEGEND,
    LABELS_HEADER,
    NO_LABELLED_OBJECTS,
    STYLE_LEGENDS,
    VIDEO_LABEL,
    VIDEO_LEGEND,
)
from egpt_dsec.answers.prompts import FRAME_PICKS as FRAME_PICKS
from egpt_dsec.answers.prompts import IMAGE_IDX as IMAGE_IDX
from egpt_dsec.answers.prompts import LEGACY_TEMPLATE as LEGACY_TEMPLATE

PROMPT_VERSION = 2
PLACEHOLDERS = (
    "{images}",
    "{question}",
    "{duration}",
    "{frame_count}",
    "{event_image_count}",
    "{legend}",
)


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


def clip_images(
    clip: ClipToAsk, frames: int, event_images: bool, pick: str = EVEN, labels: bool = True
) -> list[ImageSlot]:
    """The labelled images of one clip: sampled frames (or its reference frame alone),
    then (optionally) event images. Without ``labels`` every label is empty."""
    slots: list[ImageSlot] = []
    if pick == IMAGE_IDX:
        slots = [ImageSlot("Camera frame:", _reference(clip))]
    elif frames:
        picked = sample_indices(len(clip.frame_paths), frames)
        slots = [
            ImageSlot(
                FRAME_LABEL.format(n=n + 1, count=len(picked), t=clip.frame_times_s[i]),
                clip.frame_paths[i],
            )
            for n, i in enumerate(picked)
        ]
    if event_images:
        count = len(clip.event_image_paths)
        slots += [
            ImageSlot(EVENT_LABEL.format(n=n + 1, count=count), p)
            for n, p in enumerate(clip.event_image_paths)
        ]
    return slots if labels else [ImageSlot("", s.path) for s in slots]


def _reference(clip: ClipToAsk) -> Path:
    if clip.reference_frame is None:
        raise AnnotateError(f"{clip.id}: no image_idx frame (the clip holds no frame)")
    return clip.reference_frame


def video_slot(clip: ClipToAsk, labels: bool = True) -> ImageSlot:
    """The clip's MP4 as one part, labelled with its frame count."""
    if clip.mp4_path is None:
        raise AnnotateError(
            f"{clip.id}: no MP4 (built without mp4, or fewer frames than "
            "--min-video-frames); --video asks only clips with one"
        )
    count = len(clip.frame_paths)
    return ImageSlot(VIDEO_LABEL.format(count=count) if labels else "", clip.mp4_path)


def labelled_objects(lines: tuple[str, ...]) -> str:
    """``--with-labels``: the clip's labelled objects, one line each, after its images
    (before the question, so the prefix a clip's questions share keeps them)."""
    if not lines:
        return NO_LABELLED_OBJECTS
    return "\n".join([LABELS_HEADER, *(f"- {line}" for line in lines)])


def legend(clip: ClipToAsk, video: bool, event_images: bool) -> str:
    """How to read what the model is shown, in the build's event-image style."""
    text = VIDEO_LEGEND.format(fps=clip.video_fps) if video else FRAMES_LEGEND
    if event_images and clip.event_image_paths:
        text += EVENTS_LEGEND.format(style=STYLE_LEGENDS.get(clip.event_style, ""))
    return text


def split_template(template: str) -> tuple[str, str]:
    """The text before and after ``{images}``."""
    head, tail = template.split("{images}")
    return head, tail


def fill(
    text: str, clip: ClipToAsk, question: str, counts: tuple[int, int], legend_text: str = ""
) -> str:
    """Replace the text placeholders (only these: other braces stay as written);
    ``counts`` are the frames and event images shown."""
    values = {
        "{duration}": f"{clip.duration_s:g}",
        "{frame_count}": str(counts[0]),
        "{event_image_count}": str(counts[1]),
        "{legend}": legend_text,
    }
    for name, value in values.items():
        text = text.replace(name, value)
    return text.replace("{question}", question).strip()
