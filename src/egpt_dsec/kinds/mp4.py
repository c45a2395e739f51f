"""``mp4``: each clip's frames as an H.264 MP4 for Video-LLaVA (20 fps, stored frame count).

Two writers, by ``--mp4-mode``: ``encode`` is per clip (every open clip's encoder is fed
each frame); ``remux`` is per work unit: the unit's frames are encoded once, with a
closed-GOP IDR frame at every clip boundary, and each clip is cut out by packet copy
(``writers.mp4_remux``). A clip with fewer frames than ``--min-video-frames`` gets no MP4
(Video-LLaVA samples 8 frames by count). ``verify`` decodes every frame.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import av

from egpt_dsec import argtypes
from egpt_dsec.durations import Duration
from egpt_dsec.kinds.base import WINDOWS, ClipPart, Found, Kind, UnitWriter
from egpt_dsec.kinds.contexts import (
    CheckTask,
    Cost,
    CostModel,
    Problem,
    SourceView,
    Throughput,
    UnitContext,
    Workload,
)
from egpt_dsec.options import check_choices, option
from egpt_dsec.plan.clips import Clip
from egpt_dsec.render.warp import EVENT_VIEW_SIZE
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.state.manifest import ClipKey, ClipRecord
from egpt_dsec.writers.mp4 import Mp4ClipWriter
from egpt_dsec.writers.mp4_remux import SequenceEncoder, remux_clip
from egpt_dsec.writers.video_frame import PIX_FMT, video_size

MP4_MODES: tuple[str, ...] = ("encode", "remux")
VIDEO_LLAVA_FRAMES = 8  # Video-LLaVA samples 8 frames evenly by count
MP4_OVERHEAD = 700  # container header of a clip, bytes (measured: 700 + 13 per frame)
MP4_PER_FRAME = 13  # index bytes per frame (stts/stsz/stco entries)
REMUX_KEYFRAME_FRAMES = 5  # remux: an IDR at every clip boundary, every 250 ms at 20 Hz


@dataclass(frozen=True)
class Mp4Options:
    """How clip frames become an H.264 MP4."""

    fps: int = 20  # DSEC frames are 20 Hz: one MP4 frame per image
    preset: str = option(
        "fast", flag="--preset", help="x264 preset", example="medium", metavar="NAME"
    )
    crf: int = option(
        28,
        flag="--crf",
        help="x264 constant rate factor 0-51",
        example="23",
        parse=int,
        metavar="N",
    )
    size: tuple[int, int] | None = option(
        None,
        flag="--video-size",
        help="MP4 size WxH, made even for yuv420p",
        example="640x480",
        parse=argtypes.size,
        metavar="WxH",
        show=lambda size: "the frames' size" if size is None else f"{size[0]}x{size[1]}",
    )
    mode: Literal["encode", "remux"] = option(
        "remux",
        flag="--mp4-mode",
        help="remux: encode each work unit once and cut every clip by packet copy; "
        "encode: one encode per clip",
        choices=MP4_MODES,
        metavar="MODE",
    )
    min_frames: int = option(
        VIDEO_LLAVA_FRAMES,
        flag="--min-video-frames",
        help="clips with fewer frames get no MP4 (Video-LLaVA samples 8 by count)",
        example="1",
        parse=int,
        metavar="N",
        before=VIDEO_LLAVA_FRAMES,  # older builds made no clip of under 10 frames
    )

    def __post_init__(self) -> None:
        check_choices(self)
        if not 0 <= self.crf <= 51:
            raise ValueError(f"crf must be 0..51, got {self.crf}")
        if self.fps <= 0:
            raise ValueError(f"fps must be > 0, got {self.fps}")
        if self.size is not None and (self.size[0] < 2 or self.size[1] < 2):
            raise ValueError(f"video size must be at least 2x2, got {self.size}")
        if self.min_frames < 1:
            raise ValueError(f"--min-video-frames must be >= 1, got {self.min_frames}")


class Mp4Part(ClipPart):
    """Encode mode: the clip's own MP4, encoded on the x264 lane."""

    wants_frames = True

    def __init__(
        self, kind: Kind, ctx: UnitContext, clip: Clip, num_events: int, options: Any
    ) -> None:
        super().__init__(kind, ctx, clip, num_events, options)
        self._writer = Mp4ClipWriter(self.path(), *ctx.video_size, options)

    def feed_frame(self, frame: av.VideoFrame) -> None:
        self.pending.append(self.ctx.lanes.video.submit(self._add, frame))

    def close(self) -> None:
        self.pending.append(self.ctx.lanes.video.submit(self._commit))

    def commit(self) -> None:
        self.ctx.stats.frames_encoded += self._writer.frames
        self.count_file(self.path())

    def _add(self, frame: av.VideoFrame) -> None:
        with self.ctx.stats.timed("encode_mp4"):
            self._writer.add(frame)

    def _commit(self) -> None:
        with self.ctx.stats.timed("encode_mp4"):
            self._writer.commit()

    def abort(self) -> None:
        self._writer.abort()


class RemuxWriter:
    """Remux mode: one encode of the unit's frames, with a closed GOP at every start and
    stop of a clip that gets an MP4, then each clip cut out by packet copy.

    Its keyframes and first frame come from every clip of the unit, never from what is
    left to do, so a resumed build encodes exactly the same bytes.
    """

    def __init__(
        self, kind: Mp4Kind, ctx: UnitContext, clips: tuple[Clip, ...], options: Mp4Options,
        scratch: Path,
    ) -> None:  # fmt: skip
        self.kind, self.ctx, self.options = kind, ctx, options
        self.first = min(c.frame_start for c in clips)
        self.frames = range(self.first, max(c.frame_stop for c in clips))
        cut = [c for c in clips if kind.writes_for(c.frame_stop - c.frame_start, options)]
        keyframes = {i - self.first for c in cut for i in (c.frame_start, c.frame_stop)}
        self.encoder = SequenceEncoder(scratch, *ctx.video_size, options, keyframes)

    def add(self, frame: av.VideoFrame) -> None:
        with self.ctx.stats.timed("encode_mp4"):
            self.encoder.add(frame)

    def finish(self, records: dict[ClipKey, ClipRecord]) -> list[ClipRecord]:
        ctx = self.ctx
        with ctx.stats.timed("encode_mp4"):
            encoded = self.encoder.finish()
        done = []
        with encoded:
            for record in records.values():
                frames = record.frame_stop - record.frame_start
                if self.kind.writes_for(frames, self.options):
                    path = self._path(record)
                    with ctx.stats.timed("remux_mp4"):
                        start = record.frame_start - self.first
                        remux_clip(encoded, start, start + frames, path)
                    ctx.stats.file_written(self.kind.name, path.stat().st_size)
                done.append(record.with_components({*record.components, self.kind.name}))
        return done

    def _path(self, record: ClipRecord) -> Path:
        return self.ctx.clip_path(self.kind, Duration.parse(record.duration), record.clip)

    def abort(self) -> None:
        self.encoder.abort()


@dataclass(frozen=True)
class Mp4Size:
    """A good MP4's size, kept until its sequence's sizes can be compared."""

    path: Path
    size: tuple[int, int]
    clip_id: tuple[str, str, str, int]


class Mp4Kind(Kind):
    def writes_for(self, frames: int, options: Any) -> bool:
        return frames >= options.min_frames

    def part_type(self, options: Any) -> type[ClipPart] | None:
        return Mp4Part if options.mode == "encode" else None

    def unit_writer(
        self, ctx: UnitContext, clips: tuple[Clip, ...], options: Any, scratch: Path
    ) -> UnitWriter | None:
        if options.mode != "remux":
            return None
        return RemuxWriter(self, ctx, clips, options, scratch)

    def clip_cost(self, clip: Clip, events: int, options: Any, model: CostModel) -> Cost:
        frames = clip.frame_stop - clip.frame_start
        if not self.writes_for(frames, options):
            return Cost()
        keyframes = -(-frames // REMUX_KEYFRAME_FRAMES) if options.mode == "remux" else 1
        content = keyframes * model.mp4_intra + (frames - keyframes) * model.mp4_inter
        return Cost(1, MP4_OVERHEAD + MP4_PER_FRAME * frames + content)

    def cpu_seconds(self, work: Workload, options: Any, speed: Throughput) -> float:
        encoded = work.sequence_frames if options.mode == "remux" else work.clip_frames
        return work.sequence_frames * speed.decode_frame + encoded * speed.encode_frame

    def check(self, task: CheckTask, options: Any, events: EventFile | None) -> Found:
        r, path = task.record, task.path(self)
        found = _decoded_size(path, r.frame_stop - r.frame_start)
        if isinstance(found, str):
            return [task.problem(self.name, path, found)], None
        return [], Mp4Size(path, found, task.clip_id)

    def check_together(
        self,
        facts: list[Any],
        sources: Mapping[tuple[str, str], SourceView],
        options: Any,
        event_view: bool,
    ) -> list[Problem]:
        """All MP4s of a sequence share one size: the source's (made even) or the most common."""
        by_sequence: dict[tuple[str, str], list[Mp4Size]] = {}
        for mp4 in facts:
            by_sequence.setdefault(mp4.clip_id[:2], []).append(mp4)
        problems = []
        for key, mp4s in sorted(by_sequence.items()):
            if key in sources:
                want = sources[key].video_size
            elif options.size is not None:
                want = video_size(0, 0, options.size)
            elif event_view:
                want = video_size(*EVENT_VIEW_SIZE, None)
            else:
                want = Counter(mp4.size for mp4 in mp4s).most_common(1)[0][0]
            for mp4 in mp4s:
                if mp4.size != want:
                    what = f"size {mp4.size[0]}x{mp4.size[1]}, expected {want[0]}x{want[1]}"
                    problems.append(Problem(mp4.path, self.name, *mp4.clip_id, what))
        return problems


MP4 = Mp4Kind(
    "mp4",
    template="{sequence}/{clip}.mp4",
    entry_key="mp4_data",
    # Remux encodes one work unit at a time: the shard length decides where encodes start.
    depends_on=(*WINDOWS, "shard_seconds", "frames_view"),
    options_type=Mp4Options,
    title="the clip's frames as an H.264 MP4",
    checked_by="H.264 yuv420p that decodes to exactly the clip's frame count, also stored in "
    "the container; one size per sequence; none for a clip under --min-video-frames",
)


@dataclass(frozen=True)
class _Decoded:
    codec: str
    stored: int  # the frame count the container stores (what Video-LLaVA samples by)
    decoded: int
    size: tuple[int, int] | None
    pix_fmt: str | None


def _decoded_size(path: Path, frames: int) -> str | tuple[int, int]:
    """Its (width, height), or what is wrong: Video-LLaVA samples by the stored frame count."""
    if not path.is_file():
        return "missing"
    try:
        found = _decode(path)
    except Exception as exc:  # PyAV raises FFmpeg errors of many kinds for broken files
        return f"cannot be decoded ({type(exc).__name__}: {exc})"
    if found is None:
        return "no video stream"
    problems = (
        (found.decoded != frames, f"decodes to {found.decoded} frames, expected {frames}"),
        (found.stored != frames, f"container stores {found.stored} frames, expected {frames}"),
        (found.codec != "h264", f"codec {found.codec}, expected h264"),
        (
            found.size is None or found.size[0] % 2 or found.size[1] % 2,
            f"size {found.size} is not even",
        ),
        (found.pix_fmt != PIX_FMT, f"pixel format {found.pix_fmt}, expected {PIX_FMT}"),
    )
    what = next((text for bad, text in problems if bad), None)
    if what is not None or found.size is None:
        return what or "no frame"
    return found.size


def _decode(path: Path) -> _Decoded | None:
    """Decode every frame; the first frame's size and pixel format."""
    size, pix_fmt, decoded = None, None, 0
    with av.open(str(path), "r") as container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if size is None:
                size, pix_fmt = (frame.width, frame.height), frame.format.name
            decoded += 1
        return _Decoded(stream.codec_context.name, stream.frames, decoded, size, pix_fmt)
