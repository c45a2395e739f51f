"""H.264 MP4 clips for Video-LLaVA, encoded in-process with PyAV (libx264), reproducibly.

Determinism: the same frames and options give byte-identical files on any machine (with this
PyAV build). That needs x264 single-threaded and without macroblock-tree (see _x264_params), no
creation time or library version in the container (``fflags=+bitexact``), and the colour
conversion done here in integer arithmetic rather than by swscale, whose SIMD paths may round
differently per CPU.

Two ways to make clips:
- encode mode: one :class:`Mp4ClipWriter` per clip; each decoded frame, converted once by
  :func:`to_video_frame`, is fed to every open clip.
- remux mode: :class:`SequenceEncoder` encodes the whole sequence once with a closed-GOP IDR
  frame at every clip boundary, and :func:`remux_clip` cuts each clip out by stream copy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np
from av.video.frame import PictureType
from numpy.typing import NDArray
from PIL import Image

from egpt_dsec.config import VideoOptions
from egpt_dsec.writers.atomic import remove_path, temp_path_for

PIX_FMT = "yuv420p"
# Signalled in the stream (VUI) and used by to_video_frame: BT.601 limited range is also what
# decoders that ignore the VUI (OpenCV, older decord) assume, so every reader agrees.
_COLORSPACE_SMPTE170M = 6  # AVCOL_SPC_SMPTE170M (BT.601)
_COLOR_RANGE_MPEG = 1  # AVCOL_RANGE_MPEG (limited, 16-235)
_CONTAINER_OPTIONS = {"movflags": "+faststart", "fflags": "+bitexact"}
_SCRATCH_CONTAINER_OPTIONS = {"fflags": "+bitexact"}


def video_size(
    source_width: int, source_height: int, size: tuple[int, int] | None
) -> tuple[int, int]:
    """The encoded (width, height): ``size`` or the source size, each rounded down to even.

    yuv420p stores one chroma sample per 2x2 block, so x264 needs even dimensions.
    """
    width, height = size if size is not None else (source_width, source_height)
    width, height = width - width % 2, height - height % 2
    if width < 2 or height < 2:
        raise ValueError(f"video size must be at least 2x2, got {width}x{height}")
    return width, height


def to_video_frame(rgb: NDArray[np.uint8], width: int, height: int) -> av.VideoFrame:
    """``rgb`` (H, W, 3) as a yuv420p frame of ``width`` x ``height``, ready for any encoder.

    Converting once here lets one decoded frame feed every open clip. A source one pixel
    larger than the target (odd size rounded down) is cropped, not resampled, so the picture
    stays sharp; any other size is resized with Pillow (fixed-point, deterministic).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB array, got {rgb.shape} {rgb.dtype}")
    if width < 2 or height < 2 or width % 2 or height % 2:
        raise ValueError(f"yuv420p needs an even size of at least 2x2, got {width}x{height}")
    src_h, src_w = rgb.shape[:2]
    if 0 <= src_w - width <= 1 and 0 <= src_h - height <= 1:
        rgb = rgb[:height, :width]
    else:
        resized = Image.fromarray(np.ascontiguousarray(rgb)).resize(
            (width, height), Image.Resampling.BILINEAR
        )
        rgb = np.asarray(resized, dtype=np.uint8)
    y, u, v = rgb_to_yuv420(rgb)
    frame = av.VideoFrame(width, height, PIX_FMT)
    for plane, values in zip(frame.planes, (y, u, v), strict=True):
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
        rows[: values.shape[0], : values.shape[1]] = values
    frame.colorspace = _COLORSPACE_SMPTE170M
    frame.color_range = _COLOR_RANGE_MPEG
    return frame


# BT.601 limited range (ITU-R BT.601, studio swing) in 16-bit fixed point: value * 2**16 / 255.
def _fixed(coefficients: tuple[float, float, float]) -> tuple[int, int, int]:
    r, g, b = (round(c * 65536 / 255) for c in coefficients)
    return r, g, b


_Y = _fixed((65.481, 128.553, 24.966))
_CB = _fixed((-37.797, -74.203, 112.0))
_CR = _fixed((112.0, -93.786, -18.214))


def rgb_to_yuv420(
    rgb: NDArray[np.uint8],
) -> tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]:
    """BT.601 limited-range Y, U, V planes of an even-sized RGB image; chroma is the 2x2 mean.

    Integer arithmetic only, so the result is the same bit for bit on every CPU.
    """
    height, width = rgb.shape[:2]
    if height % 2 or width % 2:
        raise ValueError(f"yuv420p needs an even size, got {width}x{height}")
    planes = np.ascontiguousarray(rgb.transpose(2, 0, 1))  # planar: contiguous, faster math
    luma = _weigh(planes, _Y, 16 << 16, 16)
    # 2x2 sums (4x the mean) keep full precision; the extra factor 4 goes into the shift.
    sums = planes[:, 0::2, :].astype(np.uint16)
    sums += planes[:, 1::2, :]
    sums = sums[:, :, 0::2] + sums[:, :, 1::2]
    cb = _weigh(sums, _CB, 128 << 18, 18)
    cr = _weigh(sums, _CR, 128 << 18, 18)
    return luma, cb, cr


def _weigh(
    planes: NDArray[np.uint8] | NDArray[np.uint16],
    weights: tuple[int, int, int],
    offset: int,
    shift: int,
) -> NDArray[np.uint8]:
    """(wr*r + wg*g + wb*b + offset) >> shift over (3, H, W) planes, rounded, as uint8."""
    acc = np.multiply(planes[0], weights[0], dtype=np.int32)
    acc += np.multiply(planes[1], weights[1], dtype=np.int32)
    acc += np.multiply(planes[2], weights[2], dtype=np.int32)
    acc += offset + (1 << (shift - 1))
    acc >>= shift
    np.clip(acc, 0, 255, out=acc)
    return acc.astype(np.uint8)


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


def _add_h264_stream(
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
    ctx.colorspace = _COLORSPACE_SMPTE170M
    ctx.color_range = _COLOR_RANGE_MPEG
    stream.options = {
        "preset": options.preset,
        "crf": str(options.crf),
        "x264-params": _x264_params(x264_extra),
        **(codec_options or {}),
    }
    return stream


def _check_frame(frame: av.VideoFrame, width: int, height: int) -> None:
    """Refuse a mismatched frame: PyAV would silently rescale it with swscale (not bit-exact)."""
    if frame.width != width or frame.height != height or frame.format.name != PIX_FMT:
        raise ValueError(
            f"frame is {frame.width}x{frame.height} {frame.format.name}, the clip needs "
            f"{width}x{height} {PIX_FMT}: convert it with to_video_frame"
        )


class Mp4ClipWriter:
    """One clip's MP4, written to a temp sibling and renamed into place on :meth:`commit`.

    Frames are added in order; the writer sets each frame's pts (0, 1, 2, ... at 1/fps) itself
    just before encoding, so one frame object can be shared by several writers in turn.
    As a context manager it commits on success and aborts on an exception.
    """

    def __init__(self, final_path: Path, width: int, height: int, options: VideoOptions) -> None:
        self.final_path = final_path
        self.width, self.height = width, height
        self.frames = 0
        self._time_base = Fraction(1, options.fps)
        final_path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = temp_path_for(final_path)
        self._container: av.container.OutputContainer | None = av.open(
            str(self._tmp), "w", format="mp4", container_options=_CONTAINER_OPTIONS
        )
        try:
            self._stream = _add_h264_stream(self._container, width, height, options)
        except BaseException:
            self.abort()
            raise

    def add(self, frame: av.VideoFrame) -> None:
        """Encode the next frame of the clip (yuv420p at the writer's size)."""
        if self._container is None:
            raise RuntimeError(f"{self.final_path}: writer already closed")
        _check_frame(frame, self.width, self.height)
        frame.pts = self.frames
        frame.time_base = self._time_base
        frame.pict_type = PictureType.NONE  # let x264 choose; never inherit a forced type
        self._container.mux(self._stream.encode(frame))
        self.frames += 1

    def commit(self) -> int:
        """Flush the encoder, finish the file and rename it into place; returns frames written."""
        if self._container is None:
            raise RuntimeError(f"{self.final_path}: writer already closed")
        if self.frames == 0:
            self.abort()
            raise ValueError(f"{self.final_path}: a clip needs at least one frame")
        try:
            self._container.mux(self._stream.encode(None))
            self._container.close()
            self._container = None
            self._tmp.replace(self.final_path)
        except BaseException:
            self.abort()
            raise
        return self.frames

    def abort(self) -> None:
        """Drop the unfinished file; safe to call more than once."""
        container, self._container = self._container, None
        if container is not None:
            with contextlib.suppress(Exception):
                container.close()
        remove_path(self._tmp)

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


# --- remux mode -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PacketRef:
    """Where one encoded frame lies in the scratch file, and its timing in stream time base."""

    frame: int  # display index (pts in frames)
    pts: int
    dts: int
    duration: int
    pos: int
    size: int
    keyframe: bool


class SequenceEncoder:
    """Encodes a whole sequence once, with a closed-GOP IDR frame at each index in ``keyframes``.

    Every clip that starts at a keyframe and stops at a keyframe (or the sequence end) can then
    be cut out by :func:`remux_clip` without decoding: each frame is encoded once instead of
    once per clip that holds it (about 16 times with 8 durations at 50% overlap). The packets
    live in a hidden scratch MP4 beside ``scratch_path``, deleted by
    :meth:`EncodedSequence.close`.
    """

    def __init__(
        self,
        scratch_path: Path,
        width: int,
        height: int,
        options: VideoOptions,
        keyframes: Iterable[int],
    ) -> None:
        self.width, self.height = width, height
        self.options = options
        self.keyframes = frozenset(keyframes)
        self.frames = 0
        self._time_base = Fraction(1, options.fps)
        scratch_path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = temp_path_for(scratch_path)
        self._container: av.container.OutputContainer | None = av.open(
            str(self._tmp), "w", format="mp4", container_options=_SCRATCH_CONTAINER_OPTIONS
        )
        try:
            # No automatic keyframes (keyint infinite, no scene cuts); forced ones become IDR
            # and close their GOP, so no frame before a keyframe references one after it.
            self._stream = _add_h264_stream(
                self._container,
                width,
                height,
                options,
                "keyint=infinite:scenecut=0:open-gop=0",
                {"forced-idr": "1"},
            )
        except BaseException:
            self.abort()
            raise

    def add(self, frame: av.VideoFrame) -> None:
        if self._container is None:
            raise RuntimeError("sequence encoder already closed")
        _check_frame(frame, self.width, self.height)
        index = self.frames
        frame.pts = index
        frame.time_base = self._time_base
        frame.pict_type = (
            PictureType.I if index == 0 or index in self.keyframes else PictureType.NONE
        )
        self._container.mux(self._stream.encode(frame))
        self.frames += 1

    def finish(self) -> EncodedSequence:
        """Flush and close the encode; the result cuts clips until it is closed."""
        if self._container is None:
            raise RuntimeError("sequence encoder already closed")
        if self.frames == 0:
            self.abort()
            raise ValueError("a sequence encode needs at least one frame")
        try:
            self._container.mux(self._stream.encode(None))
            self._container.close()
            self._container = None
            return EncodedSequence(self._tmp, self.options.fps)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            with contextlib.suppress(Exception):
                container.close()
        remove_path(self._tmp)


class EncodedSequence:
    """A finished sequence encode: the scratch MP4 plus an index of its packets."""

    def __init__(self, path: Path, fps: int) -> None:
        self.path = path
        self.fps = fps
        self._input = av.open(str(path), "r")
        try:
            self.stream = self._input.streams.video[0]
            tb = self.stream.time_base
            if tb is None:
                raise ValueError(f"{path}: stream has no time base")
            self.time_base: Fraction = tb
            ticks = tb.denominator / (tb.numerator * fps)  # stream ticks per frame
            refs = []
            for packet in self._input.demux(self.stream):
                if packet.size == 0 or packet.pts is None or packet.dts is None:
                    continue  # the demuxer's end-of-stream marker
                if packet.pos is None:
                    raise ValueError(f"{path}: packet without a file position")
                refs.append(
                    _PacketRef(
                        frame=round(packet.pts / ticks),
                        pts=packet.pts,
                        dts=packet.dts,
                        duration=packet.duration or round(ticks),
                        pos=packet.pos,
                        size=packet.size,
                        keyframe=packet.is_keyframe,
                    )
                )
        except BaseException:
            self.close()
            raise
        self._packets = refs  # decode order
        self._decode_index = {ref.frame: i for i, ref in enumerate(refs)}
        self.frames = len(refs)
        self.keyframes = frozenset(ref.frame for ref in refs if ref.keyframe)
        self._file = path.open("rb")

    def packets_for(self, start_frame: int, stop_frame: int) -> list[_PacketRef]:
        """The packets that decode exactly frames [start, stop), in decode order.

        They must form a closed run: start is a keyframe and no frame in the run references
        one at or after stop (true when stop is a keyframe or the sequence end).
        """
        if not 0 <= start_frame < stop_frame <= self.frames:
            raise ValueError(f"frames [{start_frame}, {stop_frame}) outside 0..{self.frames}")
        if start_frame not in self.keyframes:
            raise ValueError(f"clip start frame {start_frame} is not a keyframe of the encode")
        first = self._decode_index[start_frame]
        run = self._packets[first : first + stop_frame - start_frame]
        if sorted(ref.frame for ref in run) != list(range(start_frame, stop_frame)):
            raise ValueError(
                f"frames [{start_frame}, {stop_frame}) cannot be cut without decoding: "
                f"frame {stop_frame} must be a keyframe of the encode"
            )
        return run

    def read(self, ref: _PacketRef) -> bytes:
        self._file.seek(ref.pos)
        data = self._file.read(ref.size)
        if len(data) != ref.size:
            raise OSError(f"{self.path}: short read at byte {ref.pos}")
        return data

    def close(self) -> None:
        """Close and delete the scratch file."""
        with contextlib.suppress(Exception):
            self._input.close()
        file = getattr(self, "_file", None)
        if file is not None:
            file.close()
        remove_path(self.path)

    def __enter__(self) -> EncodedSequence:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def remux_clip(
    sequence: EncodedSequence, start_frame: int, stop_frame: int, final_path: Path
) -> int:
    """Write frames [start, stop) of ``sequence`` to ``final_path`` by stream copy.

    Timestamps are rebased so the clip starts at 0; the file is written to a temp sibling and
    renamed into place. Returns the number of frames written.
    """
    run = sequence.packets_for(start_frame, stop_frame)
    origin = run[0].pts  # the keyframe at start_frame: first in decode order, pts = start
    final_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(final_path)
    try:
        with av.open(
            str(tmp), "w", format="mp4", container_options=_CONTAINER_OPTIONS
        ) as container:
            stream = container.add_stream_from_template(sequence.stream)
            for ref in run:
                packet = av.Packet(sequence.read(ref))
                packet.stream = stream
                packet.time_base = sequence.time_base
                packet.pts = ref.pts - origin
                packet.dts = ref.dts - origin
                packet.duration = ref.duration
                packet.is_keyframe = ref.keyframe
                container.mux(packet)
        tmp.replace(final_path)
    except BaseException:
        remove_path(tmp)
        raise
    return len(run)
