"""Decoding the DSEC frame PNGs into RGB arrays, once per frame for every clip that needs it.

8-bit RGB PNGs (DSEC's frames) are decoded by FFmpeg's PNG decoder through PyAV: about
twice as fast as Pillow, and it lets other threads run meanwhile (libspng, faster on
one thread, holds the GIL: ``benchmarks/bench_codecs.py``). PNG is lossless, so every
decoder gives the same pixels. Any other PNG (grey, palette, 16-bit, with
transparency) goes through Pillow and is converted to RGB.
"""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from egpt_dsec.source.errors import InputError

_FIX = "re-extract the images archive of the sequence"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_RGB8 = (8, 2)  # IHDR bit depth 8, colour type 2 (truecolour, no alpha)


def decode_frame(path: Path) -> NDArray[np.uint8]:
    """The frame at ``path`` as an (H, W, 3) uint8 RGB array.

    Grey, palette or RGBA PNGs are converted to RGB so every later step sees one layout;
    a missing, truncated or non-image file raises :class:`InputError` naming the file.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(path, "frame image is missing", _FIX) from exc
    except OSError as exc:
        raise InputError(path, f"frame image cannot be read ({exc})", _FIX) from exc
    if _png_kind(data) == _RGB8:
        rgb = _decode_rgb8(path, data)
        if rgb is not None:
            return rgb
    return _decode_with_pillow(path)


def _png_kind(data: bytes) -> tuple[int, int] | None:
    """(bit depth, colour type) from the IHDR chunk, or None if this is not a PNG."""
    if len(data) < 33 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    depth, colour = struct.unpack_from(">BB", data, 24)
    return depth, colour


def _decode_rgb8(path: Path, data: bytes) -> NDArray[np.uint8] | None:
    """FFmpeg's decode, or None when it gives another layout (RGB with transparency)."""
    codec = av.CodecContext.create("png", "r")
    codec.thread_count = 1
    try:
        frames = codec.decode(av.Packet(data))  # a truncated or corrupt PNG fails here
    except av.FFmpegError as exc:
        raise InputError(path, f"frame image cannot be decoded ({exc})", _FIX) from exc
    if len(frames) != 1 or frames[0].format.name != "rgb24":
        return None
    frame = frames[0]
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(frame.height, plane.line_size)
    return rows[:, : frame.width * 3].reshape(frame.height, frame.width, 3)


def _decode_with_pillow(path: Path) -> NDArray[np.uint8]:
    try:
        with Image.open(path) as image:
            image.load()  # decode now, inside the try: a truncated PNG fails here
            rgb = image if image.mode == "RGB" else image.convert("RGB")
            pixels = np.asarray(rgb, dtype=np.uint8)
    except FileNotFoundError as exc:
        raise InputError(path, "frame image is missing", _FIX) from exc
    except (OSError, SyntaxError, ValueError) as exc:  # PIL raises these for broken images
        raise InputError(path, f"frame image cannot be decoded ({exc})", _FIX) from exc
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
        raise InputError(path, "frame image is missing", _FIX) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(path, f"frame image cannot be read ({exc})", _FIX) from exc
