"""One job = one sequence (or one time shard of it): plan, then ONE pass in time order.

The clip boundaries of all durations cut the sequence into blocks. Each block's
events are read once from the HDF5 and handed to every open clip; each frame is
decoded once and fed to every open clip's encoder (or, in remux mode, to the one
sequence encoder whose packets are later copied into each clip's MP4). A clip is
committed when the pass reaches its end. Memory is bounded by one chunk of
events plus the open clips' writers, whatever the clip length.
"""

from __future__ import annotations

import errno
import logging
import resource
import time
from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np

from egpt_dsec.config import BuildConfig
from egpt_dsec.execute.clip_builder import FILE_COMPONENTS, ClipBuilder, SequenceContext
from egpt_dsec.execute.report import JobResult, JobStats, NullReporter, Reporter
from egpt_dsec.layout import OutputLayout
from egpt_dsec.manifest import ClipKey, ClipRecord, Manifest, ManifestWriter, unit_name
from egpt_dsec.plan.clips import Clip, plan_sequence
from egpt_dsec.plan.shards import WHOLE_SEQUENCE, Shard
from egpt_dsec.source.discover import SequenceSource
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.frames import decode_frame, frame_size
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.source.timestamps import list_frames, read_timestamps
from egpt_dsec.writers.mp4 import (
    EncodedSequence,
    SequenceEncoder,
    remux_clip,
    to_video_frame,
    video_size,
)
from egpt_dsec.writers.safe_paths import UnsafeOutputPath

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SequenceJob:
    """A unit of work an executor can ship anywhere: plain, picklable values only."""

    source: SequenceSource
    config: BuildConfig
    shard: Shard = WHOLE_SEQUENCE

    @property
    def key(self) -> str:
        return unit_name(self.source.key, self.shard.unit)


@dataclass(frozen=True)
class WorkPlan:
    """A job's clips, what the manifest says is done, and what each clip still needs."""

    clips: list[Clip]
    done: dict[ClipKey, ClipRecord]
    needs: dict[ClipKey, set[str]]

    @property
    def todo(self) -> list[Clip]:
        return [c for c in self.clips if self.needs[c.key]]

    @staticmethod
    def of(clips: list[Clip], done: dict[ClipKey, ClipRecord], config: BuildConfig) -> WorkPlan:
        wanted = set(FILE_COMPONENTS) & set(config.components)
        needs = {
            c.key: wanted - set(done[c.key].components) if c.key in done else set(wanted)
            for c in clips
        }
        return WorkPlan(clips, done, needs)


def run_job(job: SequenceJob, reporter: Reporter | None = None) -> JobResult:
    """Run one job; input problems become the result's error, never an exception."""
    reporter = reporter or NullReporter()
    started = time.monotonic()
    manifest = Manifest(OutputLayout(job.config.out).state_dir)
    marker = manifest.mark_running(job.source.split, job.source.name, job.shard.unit)
    try:
        result = _run(job, manifest, reporter)
    except (InputError, UnsafeOutputPath) as exc:
        log.error("%s: %s", job.key, exc)
        result = JobResult(job.key, error=str(exc))
    except Exception as exc:
        result = JobResult(job.key, error=_describe_failure(job, exc))
    finally:
        marker.unlink(missing_ok=True)
    result.seconds = time.monotonic() - started
    result.stats.peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    reporter.job_finished(result)
    return result


def _describe_failure(job: SequenceJob, exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        message = (
            f"the output disk is full ({exc.filename or job.config.out}): nothing partial "
            "was kept; free some space and re-run the same command to resume"
        )
        log.error("%s: %s", job.key, message)
        return message
    log.exception("%s failed", job.key)
    return f"{type(exc).__name__}: {exc}"


def _run(job: SequenceJob, manifest: Manifest, reporter: Reporter) -> JobResult:
    source, config, shard = job.source, job.config, job.shard
    layout = OutputLayout(config.out)
    timestamps = read_timestamps(source.timestamps_path)
    every_clip = plan_sequence(timestamps, config.durations, config.overlap)
    planned = {clip.duration.label for clip in every_clip}
    too_short = tuple(d.label for d in config.durations if d.label not in planned)
    too_short = too_short if shard.index == 0 else ()
    clips = [clip for clip in every_clip if shard.owns(clip)]
    stats = JobStats(clips_planned=len(clips))

    work = WorkPlan.of(clips, manifest.sequence_records(source.split, source.name), config)
    todo = work.todo
    stats.clips_skipped = len(clips) - len(todo)
    if not todo:
        reporter.job_started(job.key, 0, 0)
        return JobResult(job.key, stats, too_short)

    frame_paths = list_frames(source.frames_dir, len(timestamps))
    size = video_size(*frame_size(frame_paths[0]), config.video.size)
    ctx = SequenceContext(
        source.split, source.name, config, layout, timestamps, frame_paths, size, stats
    )
    remux = config.video.mode == "remux" and any("mp4" in work.needs[c.key] for c in todo)
    with EventFile(source.events_path) as events:
        if not events.has_t_offset:
            log.warning("%s: no t_offset dataset; taking it as 0", source.events_path)
        writer = manifest.writer(source.split, source.name, shard.unit)
        try:
            if remux:
                encoder = _sequence_encoder(ctx, clips, shard)
                records = _stream(ctx, work, clips, events, writer, reporter, job.key, encoder)
                with stats.timed("encode_mp4"):
                    encoded = encoder.finish()
                with encoded:
                    _remux_clips(ctx, encoded, work, records, writer)
            else:
                _stream(ctx, work, todo, events, writer, reporter, job.key, None)
        finally:
            writer.close()
        stats.events_decoded = events.events_decoded
        span = [max(shard.start, clips[0].t0), min(shard.stop, max(c.t1 for c in clips))]
        owned = events.index_at(np.array(span, np.int64))  # shards' spans do not overlap
        stats.events_in_sequence = int(owned[1] - owned[0])
    stats.frames_in_sequence = max(c.frame_stop for c in clips) - clips[0].frame_start
    return JobResult(job.key, stats, too_short)


def _sequence_encoder(ctx: SequenceContext, clips: list[Clip], shard: Shard) -> SequenceEncoder:
    """One encode of the shard's frames, with a closed GOP at every clip start and stop.

    Its keyframes and first frame come from the full plan of the shard, never from
    what is left to do, so a resumed build encodes exactly the same bytes.
    """
    first = min(c.frame_start for c in clips)
    keyframes = {i - first for c in clips for i in (c.frame_start, c.frame_stop)}
    scratch = (
        ctx.layout.state_dir / "scratch" / ctx.split / f"{unit_name(ctx.sequence, shard.unit)}.mp4"
    )
    return SequenceEncoder(scratch, *ctx.video_size, ctx.config.video, keyframes)


def _stream(
    ctx: SequenceContext,
    work: WorkPlan,
    span: list[Clip],
    events: EventFile,
    writer: ManifestWriter,
    reporter: Reporter,
    key: str,
    encoder: SequenceEncoder | None,
) -> dict[ClipKey, ClipRecord]:
    """The single pass over the blocks between the boundaries of the ``span`` clips."""
    stats, todo, needs, done = ctx.stats, work.todo, work.needs, work.done
    bounds = np.unique(np.array([t for c in span for t in (c.t0, c.t1)], dtype=np.int64))
    with stats.timed("read_events"):
        index = dict(zip(bounds.tolist(), events.index_at(bounds).tolist(), strict=True))
    opening: dict[int, list[Clip]] = defaultdict(list)
    closing: dict[int, list[Clip]] = defaultdict(list)
    for clip in todo:
        opening[clip.t0].append(clip)
        closing[clip.t1].append(clip)
    reporter.job_started(key, len(todo), sum(index[c.t1] - index[c.t0] for c in todo))
    per_clip_mp4 = encoder is None
    chunk = ctx.config.max_chunk_events
    records: dict[ClipKey, ClipRecord] = {}
    open_clips: dict[ClipKey, ClipBuilder] = {}
    try:
        for b0, b1 in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            for clip in opening.get(b0, []):
                clip_needs = needs[clip.key] if per_clip_mp4 else needs[clip.key] - {"mp4"}
                open_clips[clip.key] = ClipBuilder(
                    ctx, clip, index[clip.t0], index[clip.t1], clip_needs
                )
            eaters = [b for b in open_clips.values() if b.wants_events]
            for start in range(index[b0], index[b1], chunk) if eaters else ():
                with stats.timed("read_events"):
                    block = events.read(start, min(start + chunk, index[b1]))
                for builder in eaters:
                    builder.feed_events(start, block)
            watchers = [b for b in open_clips.values() if b.wants_frames]
            if watchers or encoder is not None:
                lo, hi = np.searchsorted(ctx.timestamps, [b0, b1], side="left").tolist()
                for i in range(lo, hi):
                    with stats.timed("decode_frames"):
                        frame = to_video_frame(decode_frame(ctx.frame_paths[i]), *ctx.video_size)
                    stats.frames_decoded += 1
                    for builder in watchers:
                        builder.feed_frame(frame)
                    if encoder is not None:
                        with stats.timed("encode_mp4"):
                            encoder.add(frame)
                        stats.frames_encoded += 1
            for clip in closing.get(b1, []):
                builder = open_clips.pop(clip.key)
                before = done[clip.key].components if clip.key in done else ()
                record = builder.finish(before)
                writer.append(record)
                records[clip.key] = record
                stats.clips_built += 1
                stats.clips_empty += record.empty
                stats.events_in_clips += record.num_events
                reporter.clip_done(key, record.num_events)
    except BaseException:
        for builder in open_clips.values():
            builder.abort()
        if encoder is not None:
            encoder.abort()
        raise
    return records


def _remux_clips(
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
        if "mp4" not in work.needs[clip.key] or record.empty:
            continue
        path = ctx.layout.mp4(ctx.split, clip.duration, ctx.sequence, clip.index)
        with ctx.stats.timed("remux_mp4"):
            remux_clip(encoded, clip.frame_start - first, clip.frame_stop - first, path)
        ctx.stats.files_written += 1
        ctx.stats.add_bytes("mp4", path.stat().st_size)
        writer.append(replace(record, components=tuple(sorted({*record.components, "mp4"}))))
