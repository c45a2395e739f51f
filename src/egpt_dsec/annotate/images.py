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

from egpt_dsec.answers.cost import sent_size
from egpt_dsec.answers.errors import AnnotateError

ImageFormat = Literal["jpeg", "png"]
IMAGE_FORMATS: tuple[str, ...] = ("jpeg", "png")
DETAILS: tuple[str, ...] = ("low", "high", "auto")
JPEG_QUALITY = 90
PNG_COMPRESS_LEVEL = 1  # fast; PNG is lossless at every level
# The default: at most 336 px a side (1440x1080 frames go as 336x252). Qwen2.5-VL makes
# 108 tokens of such an image against 1,989 at full size: a --select best clip of 8
# frames and 5 event images costs under a tenth of the tokens (docs/annotate.md).
DEFAULT_MAX_SIDE = 336
ORIGINAL = "original"


@dataclass(frozen=True)
class ImageOptions:
    """How each image is sent: exact ``size`` (w, h), or at most ``max_side``, or as is
    (both None: ``--image-size original``); ``detail`` is OpenAI's image detail, sent
    when set."""

    format: ImageFormat = "jpeg"
    size: tuple[int, int] | None = None
    max_side: int | None = DEFAULT_MAX_SIDE
    detail: str | None = None

    def __post_init__(self) -> None:
        if self.format not in IMAGE_FORMATS:
            raise AnnotateError(f"--image-format must be one of {IMAGE_FORMATS}, not {self.format}")
        if self.size is not None:  # an exact size wins over the default max side
            object.__setattr__(self, "max_side", None)
        if self.detail is not None and self.detail not in DETAILS:
            raise AnnotateError(f"--image-detail must be one of {DETAILS}, not {self.detail}")

    @property
    def size_label(self) -> str:
        """The size setting as text, for the settings key and the provenance."""
        if self.size is not None:
            return f"{self.size[0]}x{self.size[1]}"
        return f"max{self.max_side}" if self.max_side is not None else ORIGINAL

    def target(self, width: int, height: int) -> tuple[int, int]:
        """The sent size of a ``width`` x ``height`` image (``max_side`` never enlarges)."""
        return sent_size(width, height, self.size, self.max_side)


def parse_image_size(text: str) -> tuple[tuple[int, int] | None, int | None]:
    """``640x480`` -> exact size, ``640`` -> max side, ``original`` -> as stored; anything
    else is one clear error."""
    if text.strip().lower() in (ORIGINAL, "full"):
        return None, None
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
        f"--image-size {text!r}: use WIDTHxHEIGHT (e.g. 640x480), a max side (e.g. 640) or original"
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


def encode_video(path: Path) -> str:
    """An MP4 as the ``data:`` URL of a ``video_url`` part (its bytes as built)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AnnotateError(f"{path}: cannot read the MP4 ({exc.strerror}); rebuild") from None
    return "data:video/mp4;base64," + base64.b64encode(data).decode("ascii")


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

    def data_url(self, path: Path, video: bool = False) -> str:
        """The image (or, with ``video``, the MP4) at ``path`` as a data URL."""
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
            return self._encode(key, path, video)
        finally:
            with self._lock:
                self._encoding.pop(key).set()

    def _encode(self, key: FileKey, path: Path, video: bool) -> str:
        started = time.thread_time()
        url = encode_video(path) if video else encode_image(path, self.options)
        with self._lock:
            self.stats.misses += 1
            self.stats.encode_cpu_seconds += time.thread_time() - started
            self._urls[key] = url
            while len(self._urls) > self.max_entries:
                self._urls.popitem(last=False)
        return url
