"""Images as the model gets them: decoded once, resized, encoded as base64 data URLs.

A frame is shared by a clip's questions, by the overlapping clips of one duration and,
through hard links, by every duration: the cache is keyed by the file's identity
(device, inode, size, mtime), so each frame is decoded and encoded once per run.
"""

from __future__ import annotations

import base64
import io
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image

from egpt_dsec.answers.errors import AnnotateError

ImageFormat = Literal["jpeg", "png"]
IMAGE_FORMATS: tuple[str, ...] = ("jpeg", "png")
JPEG_QUALITY = 90
PNG_COMPRESS_LEVEL = 1  # fast; PNG is lossless at every level


@dataclass(frozen=True)
class ImageOptions:
    """How each image is sent: exact ``size`` (w, h), or at most ``max_side``, or as is."""

    format: ImageFormat = "jpeg"
    size: tuple[int, int] | None = None
    max_side: int | None = None

    def __post_init__(self) -> None:
        if self.format not in IMAGE_FORMATS:
            raise AnnotateError(f"--image-format must be one of {IMAGE_FORMATS}, not {self.format}")
        if self.size is not None and self.max_side is not None:
            raise AnnotateError("--image-size: give WIDTHxHEIGHT or a max side, not both")

    @property
    def size_label(self) -> str:
        """The size setting as text, for the settings key and the provenance."""
        if self.size is not None:
            return f"{self.size[0]}x{self.size[1]}"
        return f"max{self.max_side}" if self.max_side is not None else "original"

    def target(self, width: int, height: int) -> tuple[int, int]:
        """The sent size of a ``width`` x ``height`` image (``max_side`` never enlarges)."""
        if self.size is not None:
            return self.size
        if self.max_side is None or max(width, height) <= self.max_side:
            return width, height
        scale = self.max_side / max(width, height)
        return max(1, round(width * scale)), max(1, round(height * scale))


def parse_image_size(text: str) -> tuple[tuple[int, int] | None, int | None]:
    """``640x480`` -> exact size, ``640`` -> max side; anything else is one clear error."""
    try:
        if "x" in text.lower():
            width, height = (int(v) for v in text.lower().split("x"))
            if width > 0 and height > 0:
                return (width, height), None
        elif int(text) > 0:
            return None, int(text)
    except ValueError:
        pass
    raise AnnotateError(
        f"--image-size {text!r}: use WIDTHxHEIGHT (e.g. 640x480) or a max side (e.g. 640)"
    )


def encode_image(path: Path, options: ImageOptions) -> str:
    """Decode ``path``, resize it, encode it: the ``data:`` URL the request carries."""
    buffer = io.BytesIO()
    try:
        with Image.open(path) as source:
            image: Image.Image = source
            image.load()
            target = options.target(image.width, image.height)
            if target != image.size:
                image = image.resize(target, Image.Resampling.BICUBIC, reducing_gap=3.0)
            if options.format == "jpeg":
                if image.mode not in ("RGB", "L"):
                    image = image.convert("RGB")
                image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
            else:
                image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    except (OSError, ValueError) as exc:
        raise AnnotateError(f"{path}: cannot read the image ({exc}); rebuild this clip") from None
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/{options.format};base64,{data}"


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    encode_cpu_seconds: float = 0.0  # decode + resize + encode + base64, thread CPU time


FileKey = tuple[int, int, int, int]  # device, inode, size, mtime


class ImageCache:
    """A bounded LRU of data URLs keyed by file identity, shared by the preparing threads.

    Two threads that want the same frame at once (overlapping clips prepared side by
    side) do not both encode it: the second waits for the first.
    """

    def __init__(self, options: ImageOptions, max_entries: int = 512) -> None:
        self.options = options
        self.max_entries = max_entries
        self.stats = CacheStats()
        self._urls: OrderedDict[FileKey, str] = OrderedDict()
        self._encoding: dict[FileKey, threading.Event] = {}
        self._lock = threading.Lock()

    def data_url(self, path: Path) -> str:
        try:
            st = os.stat(path)
        except OSError as exc:
            raise AnnotateError(f"{path}: image is missing ({exc.strerror}); rebuild") from None
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        while True:
            with self._lock:
                url = self._urls.get(key)
                if url is not None:
                    self._urls.move_to_end(key)
                    self.stats.hits += 1
                    return url
                busy = self._encoding.get(key)
                if busy is None:
                    self._encoding[key] = threading.Event()
                    break
            busy.wait()  # then look again (the other thread may have failed)
        try:
            return self._encode(key, path)
        finally:
            with self._lock:
                self._encoding.pop(key).set()

    def _encode(self, key: FileKey, path: Path) -> str:
        started = time.thread_time()
        url = encode_image(path, self.options)
        with self._lock:
            self.stats.misses += 1
            self.stats.encode_cpu_seconds += time.thread_time() - started
            self._urls[key] = url
            while len(self._urls) > self.max_entries:
                self._urls.popitem(last=False)
        return url
