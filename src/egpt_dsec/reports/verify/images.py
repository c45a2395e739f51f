"""A clip's event images: every part decodes fully, at sensor size, in the recorded mode."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH
from egpt_dsec.kinds import EVENT_IMAGE
from egpt_dsec.layout.output import image_part
from egpt_dsec.reports.verify.report import Problem
from egpt_dsec.reports.verify.task import ClipTask

EVENT_IMAGE_SIZE = (SENSOR_WIDTH, SENSOR_HEIGHT)


def image_problems(task: ClipTask) -> list[Problem]:
    """Each of the record's parts is a good PNG, and no further part exists."""
    r = task.record
    mode = "RGBA" if task.built.of(EVENT_IMAGE).images.style == "gray" else "RGB"
    problems = []
    for part in range(r.parts):
        path = task.path(EVENT_IMAGE, part)
        if path.name not in task.listing[EVENT_IMAGE.name]:
            what: str | None = "missing"
        else:
            what = _png_problem(path, mode)
        if what:
            problems.append(task.problem(EVENT_IMAGE.name, path, what))
    for part, path in image_parts(task):
        if part >= r.parts:
            what = f"extra part (clip has {r.parts})"
            problems.append(task.problem(EVENT_IMAGE.name, path, what))
    return problems


def image_parts(task: ClipTask) -> list[tuple[int, Path]]:
    """(part, path) of every image of the clip found in its folder, however many."""
    folder = task.path(EVENT_IMAGE).parent
    parts = []
    for name in sorted(task.listing[EVENT_IMAGE.name]):
        part = image_part(name, task.record.clip)
        if part is not None:
            parts.append((part, folder / name))
    return parts


def _png_problem(path: Path, mode: str) -> str | None:
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
    if got != mode:
        return f"mode {got}, expected {mode}"
    return None
