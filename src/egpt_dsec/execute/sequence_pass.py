"""The single pass over a work unit: blocks between clip boundaries, in time order.

The pass itself renders event images and keeps the books; the job's lanes read the
events and decode the frames ahead of it (in the order the schedule gives), and
write, compress and encode behind it. A clip's files are committed, and its manifest
record written, in closing order once its lane work is done. Kinds written per work
unit (remux MP4) take every frame of the unit: with threads the frames never meet the
pass, the x264 thread takes them, decoded ahead for it, at its own pace beside the pass
(with one core, the pass feeds them block by block); after the pass they write their
clips' files.
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
from egpt_dsec.kinds import VIDEO, UnitWriter
from egpt_dsec.plan.clips import Clip
from egpt_dsec.state.manifest import ClipKey, ClipRecord, ManifestWriter
from egpt_dsec.writers.video_frame import to_video_frame


class SequencePass:
    """Streams the blocks between the boundaries of the ``span`` clips (all the unit's
    clips when a kind is written per unit, as its encode covers them all; the clips to do
    otherwise)."""

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
        self.unit_writers: dict[str, UnitWriter] = {}

    def _needs(self, clip: Clip) -> set[str]:
        """The kinds the clip's builder writes (those written per unit come later)."""
        return self.work.needs[clip.key] - set(self.unit_writers)

    def _size(self, clip: Clip) -> int:
        return self.position[clip.t1] - self.position[clip.t0]

    def schedule(self) -> list[Block]:
        ctx = self.ctx
        wants = Wants(
            events=lambda c: wants_events(ctx, c, self._needs(c), self._size(c)),
            frames=lambda c: wants_frames(ctx, c, self._needs(c), self._size(c)),
            every_frame=bool(self.unit_writers) and ctx.lanes.inline,
            frames_at_end=ctx.config.frames_at_window_end,
        )
        chunk = ctx.config.max_chunk_events
        return plan_blocks(self.index, self.work.todo, ctx.timestamps, wants, chunk)

    def run(self, unit_writers: dict[str, UnitWriter]) -> dict[ClipKey, ClipRecord]:
        """Build every clip to do; every frame of the span also goes to ``unit_writers``."""
        self.unit_writers = unit_writers
        self.reporter.job_started(self.key)
        self._keep_warped_frames()
        blocks = self.schedule()
        lanes = self.ctx.lanes
        chunks = ahead(lanes.reads, self._read, [r for b in blocks for r in b.reads])
        frames = ahead(lanes.frames, self._decode, [i for b in blocks for i in b.frames])
        try:
            beside = bool(unit_writers) and not lanes.inline
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
                for i in block.frames:
                    self._feed_frame(i, next(frames))
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
        wanted = sorted({i for c in folders for i in c.frame_indices})  # none: no frame
        with ctx.stats.timed("warp_frames"):
            for written in ahead(ctx.lanes.frames, ctx.frames.keep_warped, wanted):
                if written:
                    ctx.stats.file_written(VIDEO.name, written)

    def abort(self) -> None:
        """Stop the lanes, then drop every unfinished file, and the files of the clips that
        ended but have no record yet: a file no record owns would be left behind."""
        self.ctx.lanes.close(cancel=True)
        for builder in self.closed:
            builder.abort(finished=True)
        for builder in self.open_clips.values():
            builder.abort()
        for writer in self.unit_writers.values():
            writer.abort()

    def _start_encode(self) -> Future[int]:
        """The unit writers' frames, decoded ahead, fed in order on the x264 thread."""
        ranges = [writer.frames for writer in self.unit_writers.values()]
        span = range(min(r.start for r in ranges), max(r.stop for r in ranges))
        return self.ctx.lanes.video.submit(self._encode_frames, span)

    def _encode_frames(self, indices: range) -> int:
        lanes = self.ctx.lanes
        for i, frame in zip(indices, ahead(lanes.frames, self._decode, indices), strict=True):
            if lanes.stopped.is_set():
                break
            for writer in self.unit_writers.values():
                if i in writer.frames:
                    writer.add(frame)
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

    def _feed_frame(self, i: int, frame: av.VideoFrame) -> None:
        """Frame ``i`` to the open clips that hold it, and (one core) to the unit writers."""
        self.ctx.stats.frames_decoded += 1
        for builder in self.open_clips.values():
            if builder.wants_frames and i in builder.clip.frame_indices:
                builder.feed_frame(frame)
        for writer in self.unit_writers.values():
            if i in writer.frames:
                writer.add(frame)
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


def finish_unit_writers(
    writers: dict[str, UnitWriter],
    work: WorkPlan,
    records: dict[ClipKey, ClipRecord],
    writer: ManifestWriter,
) -> None:
    """After the pass: each unit writer writes the files of the clips that need its kind
    and have events; their records, with the kind done, are appended."""
    for name, unit in writers.items():
        todo = {
            clip.key: records[clip.key]
            for clip in work.todo
            if name in work.needs[clip.key] and not records[clip.key].empty
        }
        for record in unit.finish(todo):
            writer.append(record)
