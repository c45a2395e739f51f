"""A clip's event images: every part decodes fully, at sensor size, in the recorded mode."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH
from egpt_dsec.layout import clip_name
from egpt_dsec.reports.verify.report import Problem
from egpt_dsec.reports.verify.task import ClipTask

EVENT_IMAGE_SIZE = (SENSOR_WIDTH, SENSOR_HEIGHT)
_PART_PNG = re.compile(r"^(\d+)_(\d+)\.png$")


def image_problems(task: ClipTask) -> list[Problem]:
    """Each of the record's parts is a good PNG, and no further part exists."""
    r = task.record
    problems = []
    for part in range(r.parts):
        path = task.layout.event_image(*task.path_args, part)
        if path.name not in task.listing["event_image"]:
            what: str | None = "missing"
        else:
            what = _png_problem(path, task.options.image_mode)
        if what:
            problems.append(task.problem("event_image", path, what))
    for part, path in image_parts(task):
        if part >= r.parts:
            problems.append(task.problem("event_image", path, f"extra part (clip has {r.parts})"))
    return problems


def image_parts(task: ClipTask) -> list[tuple[int, Path]]:
    """(part, path) of every image of the clip found in its folder, however many."""
    folder = task.layout.component_dir(task.split, task.duration, "event_image") / task.sequence
    name = clip_name(task.record.clip)
    parts = []
    for entry in sorted(task.listing["event_image"]):
        match = _PART_PNG.match(entry)
        if match and match.group(1) == name:
            parts.append((int(match.group(2)), folder / entry))
    return parts


def _png_problem(path: Path, mode: str | None) -> str | None:
    """Decode fully: ``verify`` checks every chunk CRC, ``load`` every pixel."""
    try:
        with Image.open(path, formats=["PNG"]) as image:
            image.verify()
        with Image.open(path, formats=["PNG"]) as image:
            image.load()
            size, got = image.size, image.mode
    except Exception as exc:  # Pillow raises many kinds for broken files
        return f"cannot be decoded ({type(exc).__name__}: {exc})"
    if size != EVENT_IMAGE_SIZE:
        return f"size {size[0]}x{size[1]}, expected {EVENT_IMAGE_SIZE[0]}x{EVENT_IMAGE_SIZE[1]}"
    if got not in (("RGB", "RGBA") if mode is None else (mode,)):
        return f"mode {got}, expected {mode or 'RGB or RGBA'}"
    return None
