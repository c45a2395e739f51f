"""The single pass over a work unit: blocks between clip boundaries, in time order.

The pass itself renders event images and keeps the books; the job's lanes read the
events and decode the frames ahead of it (in the order the schedule gives), and
write, compress and encode behind it. A clip's files are committed, and its manifest
record written, in closing order once its lane work is done. In remux mode with
threads the frames never meet the pass: the x264 thread encodes the unit's frames,
decoded ahead for it, at its own pace beside the pass (with one core, the pass feeds
the encoder block by block).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future

import av
import numpy as np

from egpt_dsec.events import Events
from egpt_dsec.execute.clip_builder import ClipBuilder, wants_events, wants_frames
from egpt_dsec.execute.context import SequenceContext
from egpt_dsec.execute.event_stream import EventStream
from egpt_dsec.execute.lanes import ahead
from egpt_dsec.execute.report import Reporter
from egpt_dsec.execute.schedule import Block, Wants, plan_blocks
from egpt_dsec.execute.work import WorkPlan
from egpt_dsec.kinds import MP4, VIDEO
from egpt_dsec.plan.clips import Clip
from egpt_dsec.state.manifest import ClipKey, ClipRecord, ManifestWriter
from egpt_dsec.writers.mp4_remux import EncodedSequence, SequenceEncoder, remux_clip
from egpt_dsec.writers.video_frame import to_video_frame


class SequencePass:
    """Streams the blocks between the boundaries of the ``span`` clips (all the unit's
    clips in remux mode, whose encode covers them all; the clips to do otherwise)."""

    def __init__(
        self,
        ctx: SequenceContext,
        work: WorkPlan,
        span: tuple[Clip, ...],
        events: EventStream,
        writer: ManifestWriter,
        reporter: Reporter,
        key: str,
    ) -> None:
        self.ctx, self.work, self.events = ctx, work, events
        self.writer, self.reporter, self.key = writer, reporter, key
        bounds = np.unique(np.array([t for c in span for t in (c.t0, c.t1)], np.int64))
        with ctx.stats.timed("read_events"):
            found = events.events.index_at(bounds).tolist()
        self.index = dict(zip(bounds.tolist(), found, strict=True))  # time -> events.h5 index
        # time -> position in the stream the clips get (the same unless rectified)
        self.position = events.positions(self.index, ctx.config.max_chunk_events, ctx.stats)
        self.open_clips: dict[ClipKey, ClipBuilder] = {}
        self.closed: deque[ClipBuilder] = deque()  # ended, waiting for their lane work
        self.records: dict[ClipKey, ClipRecord] = {}
        self.encoder: SequenceEncoder | None = None

    def _needs(self, clip: Clip) -> set[str]:
        needs = self.work.needs[clip.key]
        return needs - {MP4.name} if self.encoder is not None else needs  # remux: cut later

    def _size(self, clip: Clip) -> int:
        return self.position[clip.t1] - self.position[clip.t0]

    def schedule(self) -> list[Block]:
        ctx = self.ctx
        wants = Wants(
            events=lambda c: wants_events(ctx, self._needs(c), self._size(c)),
            frames=lambda c: wants_frames(ctx, self._needs(c), self._size(c)),
            every_frame=self.encoder is not None and ctx.lanes.inline,
        )
        chunk = ctx.config.max_chunk_events
        return plan_blocks(self.index, self.work.todo, ctx.timestamps, wants, chunk)

    def run(self, encoder: SequenceEncoder | None) -> dict[ClipKey, ClipRecord]:
        """Build every clip to do; with ``encoder`` every frame of the span also goes to it."""
        self.encoder = encoder
        self.reporter.job_started(self.key)
        self._keep_warped_frames()
        blocks = self.schedule()
        lanes = self.ctx.lanes
        chunks = ahead(lanes.reads, self._read, [r for b in blocks for r in b.reads])
        frames = ahead(lanes.frames, self._decode, [i for b in blocks for i in b.frames])
        try:
            beside = encoder is not None and not lanes.inline
            video = self._start_encode() if beside else None
            for block in blocks:
                self._open(block.opening)
                eaters = [b for b in self.open_clips.values() if b.wants_events]
                position = self.position[block.t0]
                for start, stop in block.reads:
                    chunk = next(chunks)
                    self._feed_events(eaters, position, chunk)
                    position += len(chunk)
                    self.reporter.events_read(self.key, stop - start)
                for _ in block.frames:
                    self._feed_frame(next(frames))
                self._close(block.closing)
                if video is not None and video.done():
                    video.result()  # a broken frame stops the pass now, not at the end
            self._commit(wait=True)
            if video is not None:
                self._count_frames(video.result())
        except BaseException:
            self.abort()
            raise
        return self.records

    def _keep_warped_frames(self) -> None:
        """Event view: warp, once, each frame a frame folder to build will link to."""
        ctx = self.ctx
        if not ctx.frames.event_view:
            return
        folders = [c for c in self.work.todo if self._size(c) and VIDEO.name in self._needs(c)]
        wanted = sorted({i for c in folders for i in c.frame_indices})
        with ctx.stats.timed("warp_frames"):
            for written in ahead(ctx.lanes.frames, ctx.frames.keep_warped, wanted):
                if written:
                    ctx.stats.files_written += 1
                    ctx.stats.add_bytes(VIDEO.name, written)

    def abort(self) -> None:
        """Stop the lanes, then drop every unfinished file."""
        self.ctx.lanes.close(cancel=True)
        for builder in [*self.closed, *self.open_clips.values()]:
            builder.abort()
        if self.encoder is not None:
            self.encoder.abort()

    def _start_encode(self) -> Future[int]:
        """The span's frames, decoded ahead, encoded in order on the x264 thread."""
        lo, hi = np.searchsorted(self.ctx.timestamps, [min(self.index), max(self.index)])
        return self.ctx.lanes.video.submit(self._encode_frames, range(int(lo), int(hi)))

    def _encode_frames(self, indices: range) -> int:
        assert self.encoder is not None
        lanes, stats = self.ctx.lanes, self.ctx.stats
        for frame in ahead(lanes.frames, self._decode, indices):
            if lanes.stopped.is_set():
                break
            with stats.timed("encode_mp4"):
                self.encoder.add(frame)
        return len(indices)

    def _count_frames(self, count: int) -> None:
        self.ctx.stats.frames_decoded += count
        self.ctx.stats.frames_encoded += count

    def _read(self, span: tuple[int, int]) -> Events:
        with self.ctx.stats.timed("read_events"):
            return self.events.read(*span)

    def _decode(self, i: int) -> av.VideoFrame:
        ctx = self.ctx
        with ctx.stats.timed("decode_frames"):
            return to_video_frame(ctx.frames.rgb(i), *ctx.video_size)

    def _open(self, clips: tuple[Clip, ...]) -> None:
        for clip in clips:
            stream = (self.position[clip.t0], self.position[clip.t1])
            source = (self.index[clip.t0], self.index[clip.t1])
            builder = ClipBuilder(self.ctx, clip, stream, source, self._needs(clip))
            self.open_clips[clip.key] = builder

    def _feed_events(self, eaters: list[ClipBuilder], start: int, block: Events) -> None:
        for builder in eaters:
            builder.feed_events(start, block)

    def _feed_frame(self, frame: av.VideoFrame) -> None:
        self.ctx.stats.frames_decoded += 1
        for builder in self.open_clips.values():
            if builder.wants_frames:
                builder.feed_frame(frame)
        if self.encoder is not None:  # one core: the pass feeds the sequence encode
            with self.ctx.stats.timed("encode_mp4"):
                self.encoder.add(frame)
            self.ctx.stats.frames_encoded += 1

    def _close(self, clips: tuple[Clip, ...]) -> None:
        for clip in clips:
            builder = self.open_clips.pop(clip.key)
            builder.close()
            self.closed.append(builder)
        self._commit(wait=False)

    def _commit(self, wait: bool) -> None:
        """Record the ended clips whose files are in place, in closing order."""
        stats, done = self.ctx.stats, self.work.done
        while self.closed and (wait or self.closed[0].ready):
            builder = self.closed[0]
            before = done[builder.clip.key].components if builder.clip.key in done else ()
            record = builder.commit(before)
            self.closed.popleft()
            self.writer.append(record)
            self.records[builder.clip.key] = record
            stats.clips_built += 1
            stats.clips_empty += record.empty
            stats.events_in_clips += record.num_events
            stats.events_dropped += record.dropped
            self.reporter.clip_done(self.key)


def remux_clips(
    ctx: SequenceContext,
    encoded: EncodedSequence,
    work: WorkPlan,
    records: dict[ClipKey, ClipRecord],
    writer: ManifestWriter,
) -> None:
    """Cut each clip's MP4 from the sequence encode by copying packets (no decoding)."""
    first = min(c.frame_start for c in work.clips)
    for clip in work.todo:
        record = records[clip.key]
        if MP4.name not in work.needs[clip.key] or record.empty:
            continue
        path = ctx.layout.clip_path(MP4, ctx.split, clip.duration, ctx.sequence, clip.index)
        with ctx.stats.timed("remux_mp4"):
            remux_clip(encoded, clip.frame_start - first, clip.frame_stop - first, path)
        ctx.stats.files_written += 1
        ctx.stats.add_bytes(MP4.name, path.stat().st_size)
        writer.append(record.with_components({*record.components, MP4.name}))
