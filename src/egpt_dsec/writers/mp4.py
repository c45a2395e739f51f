"""H.264 MP4 clips for Video-LLaVA, encoded in-process with PyAV (libx264), reproducibly.

Determinism: the same frames and options give byte-identical files on any machine (with this
PyAV build). That needs x264 single-threaded and without macroblock-tree (see _x264_params), no
creation time or library version in the container (``fflags=+bitexact``), and the colour
conversion of ``writers.video_frame``.

Two ways to make clips:
- encode mode: one :class:`Mp4ClipWriter` per clip; each decoded frame, converted once by
  :func:`~egpt_dsec.writers.video_frame.to_video_frame`, is fed to every open clip.
- remux mode (``writers.mp4_remux``): the whole work unit is encoded once with a closed-GOP
  IDR frame at every clip boundary, and each clip is cut out by stream copy.
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Protocol

import av
from av.video.frame import PictureType

from egpt_dsec.fs import remove_path, temp_path_for
from egpt_dsec.writers.video_frame import COLOR_RANGE_MPEG, COLORSPACE_SMPTE170M, PIX_FMT

CONTAINER_OPTIONS = {"movflags": "+faststart", "fflags": "+bitexact"}


class VideoOptions(Protocol):
    """The x264 settings an encode takes (the ``mp4`` kind's options have them)."""

    @property
    def fps(self) -> int: ...

    @property
    def preset(self) -> str: ...

    @property
    def crf(self) -> int: ...


SCRATCH_CONTAINER_OPTIONS = {"fflags": "+bitexact"}


def _x264_params(extra: str = "") -> str:
    """x264 settings every encode shares, all for byte-identical output on any machine.

    - threads=1: x264's output depends on its thread count (the lookahead thread too).
    - mbtree=0: macroblock-tree rate control divides with the approximate ``rcpps`` SIMD
      instruction, whose result differs between Intel and AMD CPUs. Without it the output
      was checked identical across x264's SSSE3, SSE4.2, AVX, AVX2 and FMA3 code paths
      (x86 CPUs without SSSE3, made before ~2011, take other intra-search paths and differ).
      It costs about 15% larger files at the same crf, and saves ~40% of x264's memory
      (no 30-frame lookahead: ~75 MB instead of ~200 MB per open 1440x1080 clip).
    """
    params = "threads=1:lookahead-threads=1:mbtree=0"
    return f"{params}:{extra}" if extra else params


def add_h264_stream(
    container: av.container.OutputContainer,
    width: int,
    height: int,
    options: VideoOptions,
    x264_extra: str = "",
    codec_options: dict[str, str] | None = None,
) -> av.video.stream.VideoStream:
    stream = container.add_stream("libx264", rate=options.fps)
    stream.width, stream.height, stream.pix_fmt = width, height, PIX_FMT
    stream.time_base = Fraction(1, options.fps)
    ctx = stream.codec_context
    ctx.thread_count = 1  # x264 output depends on its thread count
    ctx.colorspace = COLORSPACE_SMPTE170M
    ctx.color_range = COLOR_RANGE_MPEG
    stream.options = {
        "preset": options.preset,
        "crf": str(options.crf),
        "x264-params": _x264_params(x264_extra),
        **(codec_options or {}),
    }
    return stream


def check_frame(frame: av.VideoFrame, width: int, height: int) -> None:
    """Refuse a mismatched frame: PyAV would silently rescale it with swscale (not bit-exact)."""
    if frame.width != width or frame.height != height or frame.format.name != PIX_FMT:
        raise ValueError(
            f"frame is {frame.width}x{frame.height} {frame.format.name}, the clip needs "
            f"{width}x{height} {PIX_FMT}: convert it with to_video_frame"
        )


class H264File:
    """An H.264 MP4 being written under a temp name beside ``final_path``; frames are
    numbered (pts 0, 1, 2, ... at 1/fps) as they come. :meth:`abort` deletes it; the
    writers built on it decide what a finished file becomes."""

    def __init__(
        self,
        final_path: Path,
        width: int,
        height: int,
        options: VideoOptions,
        container_options: dict[str, str],
        x264_extra: str = "",
        codec_options: dict[str, str] | None = None,
    ) -> None:
        self.final_path = final_path
        self.width, self.height = width, height
        self.options = options
        self.frames = 0
        self._time_base = Fraction(1, options.fps)
        final_path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = temp_path_for(final_path)
        self._container: av.container.OutputContainer | None = av.open(
            str(self._tmp), "w", format="mp4", container_options=container_options
        )
        try:
            self._stream = add_h264_stream(
                self._container, width, height, options, x264_extra, codec_options
            )
        except BaseException:
            self.abort()
            raise

    def _encode(self, frame: av.VideoFrame, pict_type: PictureType) -> None:
        """Encode the next frame (yuv420p at the file's size) as ``pict_type``; NONE lets
        x264 choose, so a frame shared by several writers never inherits a forced type."""
        if self._container is None:
            raise RuntimeError(f"{self.final_path}: writer already closed")
        check_frame(frame, self.width, self.height)
        frame.pts = self.frames
        frame.time_base = self._time_base
        frame.pict_type = pict_type
        self._container.mux(self._stream.encode(frame))
        self.frames += 1

    def _close(self) -> Path:
        """Flush the encoder and close the file; returns its temp path (aborted on failure)."""
        if self._container is None:
            raise RuntimeError(f"{self.final_path}: writer already closed")
        if self.frames == 0:
            self.abort()
            raise ValueError(f"{self.final_path}: an MP4 needs at least one frame")
        try:
            self._container.mux(self._stream.encode(None))
            self._container.close()
            self._container = None
        except BaseException:
            self.abort()
            raise
        return self._tmp

    def abort(self) -> None:
        """Drop the unfinished file; safe to call more than once."""
        container, self._container = self._container, None
        if container is not None:
            with contextlib.suppress(Exception):
                container.close()
        remove_path(self._tmp)


class Mp4ClipWriter(H264File):
    """One clip's MP4, renamed into place on :meth:`commit`.

    Frames are added in order; the writer sets each frame's pts itself just before
    encoding, so one frame object can be shared by several writers in turn.
    As a context manager it commits on success and aborts on an exception.
    """

    def __init__(self, final_path: Path, width: int, height: int, options: VideoOptions) -> None:
        super().__init__(final_path, width, height, options, CONTAINER_OPTIONS)

    def add(self, frame: av.VideoFrame) -> None:
        """Encode the next frame of the clip (yuv420p at the writer's size)."""
        self._encode(frame, PictureType.NONE)

    def commit(self) -> int:
        """Finish the file and rename it into place; returns frames written."""
        tmp = self._close()
        try:
            tmp.replace(self.final_path)
        except BaseException:
            self.abort()
            raise
        return self.frames

    def __enter__(self) -> Mp4ClipWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
