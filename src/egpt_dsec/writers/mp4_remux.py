"""Remux mode: encode a work unit's frames once, then cut every clip by packet copy.

:class:`SequenceEncoder` encodes with a closed-GOP IDR frame at every clip boundary, so
every clip that starts and stops at a keyframe can be cut out by :func:`remux_clip`
without decoding: each frame is encoded once instead of once per clip that holds it
(about 16 times with 8 durations at 50% overlap).
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.video.frame import PictureType

from egpt_dsec.fs import atomic_path, remove_path
from egpt_dsec.writers.mp4 import (
    CONTAINER_OPTIONS,
    SCRATCH_CONTAINER_OPTIONS,
    H264File,
    VideoOptions,
    add_h264_stream,
)

# No automatic keyframes (keyint infinite, no scene cuts); forced ones become IDR and close
# their GOP, so no frame before a keyframe references one after it.
ONLY_FORCED_KEYFRAMES = "keyint=infinite:scenecut=0:open-gop=0"


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


class SequenceEncoder(H264File):
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
        self.keyframes = frozenset(keyframes)
        super().__init__(
            scratch_path,
            width,
            height,
            options,
            SCRATCH_CONTAINER_OPTIONS,
            ONLY_FORCED_KEYFRAMES,
            {"forced-idr": "1"},
        )

    def add(self, frame: av.VideoFrame) -> None:
        keyframe = self.frames == 0 or self.frames in self.keyframes
        self._encode(frame, PictureType.I if keyframe else PictureType.NONE)

    def finish(self) -> EncodedSequence:
        """Flush and close the encode; the result cuts clips until it is closed."""
        return EncodedSequence(self._close(), self.options.fps)


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
    with (
        atomic_path(final_path) as tmp,
        av.open(str(tmp), "w", format="mp4", container_options=CONTAINER_OPTIONS) as container,
    ):
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
    return len(run)


def probe_encode(
    frames: list[av.VideoFrame], size: tuple[int, int], options: VideoOptions
) -> tuple[float, float, float]:
    """Encode ``frames`` in memory as remux mode does (an IDR every 5th frame): the mean
    bytes of a keyframe and of another frame, and the seconds per frame (for ``plan``)."""
    buffer = io.BytesIO()
    sizes: list[tuple[bool, int]] = []
    started = time.perf_counter()
    with av.open(buffer, "w", format="mp4", container_options=SCRATCH_CONTAINER_OPTIONS) as out:
        stream = add_h264_stream(out, *size, options, ONLY_FORCED_KEYFRAMES)
        for index, frame in enumerate([*frames, None]):
            if frame is not None:
                frame.pts, frame.time_base = index, Fraction(1, options.fps)
                frame.pict_type = PictureType.I if index % 5 == 0 else PictureType.NONE
            for packet in stream.encode(frame):
                sizes.append((packet.is_keyframe, packet.size))
                out.mux(packet)
    seconds = (time.perf_counter() - started) / max(len(frames), 1)
    # Steady-state keyframes: the first one of a fresh encoder weighs more than those a
    # long encode puts at every clip boundary.
    intra = [n for key, n in sizes if key][1:] or [n for key, n in sizes if key] or [0]
    inter = [n for key, n in sizes if not key] or intra
    return sum(intra) / len(intra), sum(inter) / len(inter), seconds
