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
from egpt_dsec.render.tensor_spec import TENSOR_NAMES, TensorSpec, parse_tensor_specs
from egpt_dsec.render.tensors import (
    TensorAccumulator,
    tensor_bytes,
    tensor_file_size,
    tensor_npy_header,
)

__all__ = [
    "GRAY_BASE",
    "GRAY_STEP",
    "TENSOR_NAMES",
    "Canvas",
    "PartPainter",
    "TensorAccumulator",
    "TensorSpec",
    "new_canvas",
    "paint",
    "paint_events",
    "parse_tensor_specs",
    "part_bounds",
    "render",
    "tensor_bytes",
    "tensor_file_size",
    "tensor_npy_header",
    "to_pixels",
]
