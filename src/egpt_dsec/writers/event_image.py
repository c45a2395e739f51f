"""Event images as PNG files: atomic, and the same bytes for the same pixels on every run."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from egpt_dsec.fs import atomic_path

_CHANNELS = (3, 4)  # RGB, RGBA


def save_png(final_path: Path, pixels: NDArray[np.uint8], compress_level: int = 1) -> None:
    """Write (H, W, 3) RGB or (H, W, 4) RGBA uint8 pixels as a PNG at ``final_path``.

    Level 1 is the default because event images are mostly white and compress well even
    at the fastest zlib level. The image is built fresh from the array, so Pillow writes
    only IHDR/IDAT/IEND: no time, text or dpi chunk that could differ between runs.
    """
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in _CHANNELS:
        raise ValueError(
            f"expected (H, W, 3|4) uint8 pixels, got {pixels.dtype} shape {pixels.shape}"
        )
    if not 0 <= compress_level <= 9:
        raise ValueError(f"PNG compress level must be 0..9, got {compress_level}")
    data = png_bytes(pixels, compress_level)
    with atomic_path(final_path) as tmp:
        tmp.write_bytes(data)


def png_bytes(pixels: NDArray[np.uint8], compress_level: int = 1) -> bytes:
    """The PNG file of ``pixels``, in memory (what :func:`save_png` writes)."""
    image = Image.fromarray(np.ascontiguousarray(pixels))  # RGB or RGBA from the shape
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=compress_level, optimize=False)
    return buffer.getvalue()
