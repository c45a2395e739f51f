"""Decoding the DSEC frame PNGs into RGB arrays, once per frame for every clip that needs it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from egpt_dsec.source.errors import InputError


def decode_frame(path: Path) -> NDArray[np.uint8]:
    """The frame at ``path`` as an (H, W, 3) uint8 RGB array.

    Grey, palette or RGBA PNGs are converted to RGB so every later step sees one layout;
    a missing, truncated or non-image file raises :class:`InputError` naming the file.
    """
    try:
        with Image.open(path) as image:
            image.load()  # decode now, inside the try: a truncated PNG fails here
            rgb = image if image.mode == "RGB" else image.convert("RGB")
            pixels = np.asarray(rgb, dtype=np.uint8)
    except FileNotFoundError as exc:
        raise InputError(
            path, "frame image is missing", "re-extract the images archive of the sequence"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:  # PIL raises these for broken images
        raise InputError(
            path,
            f"frame image cannot be decoded ({exc})",
            "re-extract the images archive of the sequence",
        ) from exc
    return pixels


def frame_size(path: Path) -> tuple[int, int]:
    """(width, height) of the frame at ``path``, read from its header only.

    Like :func:`decode_frame`, a missing or unreadable file raises :class:`InputError`
    naming it, so a broken first frame fails only its sequence, with a fix.
    """
    try:
        with Image.open(path) as image:
            return image.width, image.height
    except FileNotFoundError as exc:
        raise InputError(
            path, "frame image is missing", "re-extract the images archive of the sequence"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(
            path,
            f"frame image cannot be read ({exc})",
            "re-extract the images archive of the sequence",
        ) from exc
