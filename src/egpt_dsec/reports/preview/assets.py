"""The preview's own pictures: PNG bytes, frame thumbnails and contact sheets."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from egpt_dsec.render.warp import resize_frame

THUMB_SIZE = (160, 120)
SHEET_TILE = (320, 240)
LABEL_HEIGHT = 16


def png_bytes(rgb: NDArray[np.uint8]) -> bytes:
    """PNG without time or text chunks: equal pixels give equal bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def read_rgb(path: Path) -> NDArray[np.uint8]:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def thumbnail(rgb: NDArray[np.uint8], size: tuple[int, int] = THUMB_SIZE) -> NDArray[np.uint8]:
    """The picture scaled to fit ``size`` (aspect kept)."""
    scale = min(size[0] / rgb.shape[1], size[1] / rgb.shape[0])
    fit = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return np.asarray(resize_frame(rgb, fit))


def contact_sheet(rows: list[tuple[str, list[NDArray[np.uint8]]]]) -> NDArray[np.uint8]:
    """One labelled row per clip, its pictures side by side at ``SHEET_TILE``."""
    columns = max((len(pictures) for _, pictures in rows), default=1) or 1
    tile_w, tile_h = SHEET_TILE
    height = max(1, len(rows)) * (tile_h + LABEL_HEIGHT)
    sheet = Image.new("RGB", (columns * tile_w, height), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (label, pictures) in enumerate(rows):
        top = r * (tile_h + LABEL_HEIGHT)
        draw.text((4, top + 2), label, fill=(0, 0, 0))
        for c, picture in enumerate(pictures):
            tile = Image.fromarray(np.asarray(resize_frame(picture, SHEET_TILE)))
            sheet.paste(tile, (c * tile_w, top + LABEL_HEIGHT))
    return np.asarray(sheet)
