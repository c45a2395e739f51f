"""Rendering: pure functions from events to pixels (no file I/O)."""

from __future__ import annotations

from egpt_dsec.render.event_image import (
    GRAY_BASE,
    GRAY_STEP,
    Canvas,
    PartPainter,
    new_canvas,
    paint,
    paint_events,
    part_bounds,
    render,
    to_pixels,
)

__all__ = [
    "GRAY_BASE",
    "GRAY_STEP",
    "Canvas",
    "PartPainter",
    "new_canvas",
    "paint",
    "paint_events",
    "part_bounds",
    "render",
    "to_pixels",
]
