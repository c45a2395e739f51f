"""The single pass over a work unit: blocks between clip boundaries, in time order."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np

from egpt_dsec.execute.clip_builder import ClipBuilder
from egpt_dsec.execute.context import SequenceContext
from egpt_dsec.execute.report import Reporter
from egpt_dsec.execute.work import WorkPlan
from egpt_dsec.kinds import MP4
from egpt_dsec.plan.clips import Clip
from egpt_dsec.source.frames import decode_frame
from egpt_dsec.source.h5events import EventFile
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
        events: EventFile,
        writer: ManifestWriter,
        reporter: Reporter,
        key: str,
    ) -> None:
        self.ctx, self.work, self.events = ctx, work, events
        self.writer, self.reporter, self.key = writer, reporter, key
        self.bounds = np.unique(np.array([t for c in span for t in (c.t0, c.t1)], np.int64))
        with ctx.stats.timed("read_events"):
            found = events.index_at(self.bounds).tolist()
        self.index = dict(zip(self.bounds.tolist(), found, strict=True))
        self.opening: dict[int, list[Clip]] = defaultdict(list)
        self.closing: dict[int, list[Clip]] = defaultdict(list)
        for clip in work.todo:
            self.opening[clip.t0].append(clip)
            self.closing[clip.t1].append(clip)
        self.open_clips: dict[ClipKey, ClipBuilder] = {}
        self.records: dict[ClipKey, ClipRecord] = {}
        self.encoder: SequenceEncoder | None = None

    def run(self, encoder: SequenceEncoder | None) -> dict[ClipKey, ClipRecord]:
        """Build every clip to do; with ``encoder`` every frame also goes to it."""
        self.encoder = encoder
        self.reporter.job_started(self.key)
        edges = self.bounds.tolist()
        try:
            for b0, b1 in itertools.pairwise(edges):
                self._open(b0)
                self._feed_events(b0, b1)
                self._feed_frames(b0, b1)
                self._close(b1)
        except BaseException:
            for builder in self.open_clips.values():
                builder.abort()
            if encoder is not None:
                encoder.abort()
            raise
        return self.records

    def _open(self, b0: int) -> None:
        for clip in self.opening.get(b0, []):
            needs = self.work.needs[clip.key]
            if self.encoder is not None:
                needs = needs - {MP4.name}  # cut from the sequence encode after the pass
            start, stop = self.index[clip.t0], self.index[clip.t1]
            self.open_clips[clip.key] = ClipBuilder(self.ctx, clip, start, stop, needs)

    def _feed_events(self, b0: int, b1: int) -> None:
        eaters = [b for b in self.open_clips.values() if b.wants_events]
        if not eaters:
            return
        chunk, stop = self.ctx.config.max_chunk_events, self.index[b1]
        for start in range(self.index[b0], stop, chunk):
            with self.ctx.stats.timed("read_events"):
                block = self.events.read(start, min(start + chunk, stop))
            self.reporter.events_read(self.key, len(block))
            for builder in eaters:
                builder.feed_events(start, block)

    def _feed_frames(self, b0: int, b1: int) -> None:
        ctx, stats = self.ctx, self.ctx.stats
        watchers = [b for b in self.open_clips.values() if b.wants_frames]
        if not watchers and self.encoder is None:
            return
        lo, hi = np.searchsorted(ctx.timestamps, [b0, b1], side="left").tolist()
        for i in range(lo, hi):
            with stats.timed("decode_frames"):
                frame = to_video_frame(decode_frame(ctx.frame_paths[i]), *ctx.video_size)
            stats.frames_decoded += 1
            for builder in watchers:
                builder.feed_frame(frame)
            if self.encoder is not None:
                with stats.timed("encode_mp4"):
                    self.encoder.add(frame)
                stats.frames_encoded += 1

    def _close(self, b1: int) -> None:
        stats, done = self.ctx.stats, self.work.done
        for clip in self.closing.get(b1, []):
            builder = self.open_clips.pop(clip.key)
            before = done[clip.key].components if clip.key in done else ()
            record = builder.finish(before)
            self.writer.append(record)
            self.records[clip.key] = record
            stats.clips_built += 1
            stats.clips_empty += record.empty
            stats.events_in_clips += record.num_events
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
