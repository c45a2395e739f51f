"""The words of each task: several phrasings of its question (``--seed`` picks one per
question), its answer, and its multiple-choice options. Times are seconds from the
clip's start with two decimals; boxes are ``[x0, y0, x1, y1]`` in pixels of the 640x480
event image (origin at its top-left corner, x to the right, y down)."""

from __future__ import annotations

from typing import Any

from egpt_dsec.labels.classes import CLASS_NAMES, PLURALS, counted
from egpt_dsec.labels.tasks import (
    APPROACHING,
    CENTRE,
    COUNT,
    CROSSING_LEFT,
    CROSSING_RIGHT,
    GROUNDING,
    MOTION,
    MOVING_AWAY,
    POSITION,
    PRESENCE,
    STILL,
    TIMING,
    Fact,
)

PHRASINGS: dict[str, tuple[str, ...]] = {
    COUNT: (
        "How many {plural} appear in this clip?",
        "Count the {plural} seen during this clip.",
        "How many different {plural} can be seen in this event stream?",
    ),
    PRESENCE: (
        "Is there a {name} in this clip?",
        "Does a {name} appear in this event stream?",
        "Can you see any {plural} in this clip?",
    ),
    POSITION: (
        "At {at} into the clip, where is the largest object: left, centre or right, "
        "and near or far?",
        "Where is the biggest object {at} after the clip starts (left, centre or right; "
        "near or far)?",
        "Locate the largest object at {at}: left, centre or right, near or far?",
    ),
    MOTION: (
        "How is the largest {name} moving relative to the camera?",
        "Is the biggest {name} approaching, moving away, crossing, or still?",
        "Describe the motion of the largest {name} in this clip relative to the camera.",
    ),
    GROUNDING: (
        "Give the box of the largest {name} at {at} as [x0, y0, x1, y1] in pixels.",
        "Where is the biggest {name} {at} after the clip starts? Answer with its box "
        "[x0, y0, x1, y1] in pixels.",
        "At {at}, what is the bounding box [x0, y0, x1, y1] of the largest {name}?",
    ),
    TIMING: (
        "When does the first {name} appear in this clip?",
        "How many seconds into the clip does a {name} first appear?",
        "At what time after the clip starts does a {name} first show up?",
    ),
}
# The multiple-choice presence item asks which class is there (one of four).
CHOICE_PRESENCE = "Which of these objects appears in this clip?"
_MOTION_WORDS = {
    APPROACHING: "It is approaching.",
    MOVING_AWAY: "It is moving away.",
    CROSSING_LEFT: "It is crossing to the left.",
    CROSSING_RIGHT: "It is crossing to the right.",
    STILL: "It is still relative to the camera.",
}


def seconds_text(seconds: float) -> str:
    return f"{seconds:.2f} s"


def box_text(box: tuple[int, int, int, int]) -> str:
    return "[" + ", ".join(str(v) for v in box) + "]"


def question_text(fact: Fact, phrasing: int, t0: int) -> str:
    name = fact.class_name or ""
    at = "" if fact.at is None else seconds_text((fact.at - t0) / 1e6)
    template = PHRASINGS[fact.task][phrasing]
    return template.format(name=name, plural=PLURALS.get(name, ""), at=at)


def answer_text(fact: Fact) -> str:
    name = fact.class_name or ""
    if fact.task == COUNT:
        verb = "is" if fact.value == 1 else "are"
        return f"There {verb} {counted(fact.value, name)}."
    if fact.task == PRESENCE:
        return "Yes." if fact.value else "No."
    if fact.task == POSITION:
        side, depth = fact.value
        where = "in the centre" if side == CENTRE else f"on the {side}"
        return f"The largest object is a {name}, {where} and {depth}."
    if fact.task == MOTION:
        return _MOTION_WORDS[fact.value]
    if fact.task == GROUNDING:
        return box_text(fact.value)
    if fact.task == TIMING:
        return f"At {seconds_text(fact.value)}."
    raise ValueError(f"unknown task {fact.task!r}")


def option_text(task: str, value: Any) -> str:
    """A value as a multiple-choice option."""
    if task in (COUNT,):
        return str(value)
    if task == PRESENCE:
        return CLASS_NAMES[value]
    if task == POSITION:
        return f"{value[0]}, {value[1]}"
    if task == MOTION:
        return str(value)
    if task == GROUNDING:
        return box_text(value)
    if task == TIMING:
        return seconds_text(value)
    raise ValueError(f"unknown task {task!r}")


def answer_key(fact: Fact, duration_s: float) -> str:
    """The answer's category, for the answer distributions: the count, yes/no, the side
    and depth, the motion, the class of a box, the quarter of the clip of a time."""
    if fact.task == PRESENCE:
        return "yes" if fact.value else "no"
    if fact.task == GROUNDING:
        return fact.class_name or ""
    if fact.task == TIMING:
        quarter = min(int(4 * fact.value / duration_s), 3)
        return f"{25 * quarter}-{25 * quarter + 25}%"
    return option_text(fact.task, fact.value)
