"""One job = one sequence: plan every duration's clips, then ONE pass in time order.

The clip boundaries of all durations cut the sequence into blocks. Each block's
events are read once from the HDF5 and handed to every open clip; each frame is
decoded once and fed to every open clip's encoder; a clip is committed when the
pass reaches its end. Memory is bounded by one chunk of events plus the open
clips' writers, whatever the clip length.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from PIL import Image

from egpt_dsec.config import BuildConfig
from egpt_dsec.execute.clip_builder import FILE_COMPONENTS, ClipBuilder, SequenceContext
from egpt_dsec.execute.report import JobResult, JobStats, NullReporter, Reporter
from egpt_dsec.layout import OutputLayout
from egpt_dsec.manifest import ClipRecord, Manifest
from egpt_dsec.plan.clips import Clip, plan_sequence
from egpt_dsec.source.discover import SequenceSource
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.frames import decode_frame
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.source.timestamps import list_frames, read_timestamps
from egpt_dsec.writers.atomic import remove_stale_temps
from egpt_dsec.writers.mp4 import to_video_frame, video_size

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SequenceJob:
    """A unit of work an executor can ship anywhere: plain, picklable values only."""

    source: SequenceSource
    config: BuildConfig

    @property
    def key(self) -> str:
        return self.source.key


def run_job(job: SequenceJob, reporter: Reporter | None = None) -> JobResult:
    """Run one job; input problems become the result's error, never an exception."""
    reporter = reporter or NullReporter()
    started = time.monotonic()
    manifest = Manifest(OutputLayout(job.config.out).state_dir)
    marker = manifest.mark_running(job.source.split, job.source.name)
    try:
        result = _run(job, manifest, reporter)
    except InputError as exc:
        log.error("%s: %s", job.key, exc)
        result = JobResult(job.key, error=str(exc))
    except Exception as exc:
        log.exception("%s failed", job.key)
        result = JobResult(job.key, error=f"{type(exc).__name__}: {exc}")
    finally:
        marker.unlink(missing_ok=True)
    result.seconds = time.monotonic() - started
    reporter.job_finished(result)
    return result


def _run(job: SequenceJob, manifest: Manifest, reporter: Reporter) -> JobResult:
    source, config = job.source, job.config
    layout = OutputLayout(config.out)
    timestamps = read_timestamps(source.timestamps_path)
    clips = plan_sequence(timestamps, config.durations, config.overlap)
    planned = {clip.duration.label for clip in clips}
    too_short = tuple(d.label for d in config.durations if d.label not in planned)
    stats = JobStats(clips_planned=len(clips), frames_in_sequence=len(timestamps))

    done = manifest.sequence_records(source.split, source.name)
    wanted = set(FILE_COMPONENTS) & set(config.components)
    needs = {
        c.key: wanted - set(done[c.key].components) if c.key in done else wanted for c in clips
    }
    todo = [c for c in clips if needs[c.key]]
    stats.clips_skipped = len(clips) - len(todo)
    if not todo:
        reporter.job_started(job.key, 0, 0)
        return JobResult(job.key, stats, too_short)

    frame_paths = list_frames(source.frames_dir, len(timestamps))
    for duration in config.durations:
        for folder in layout.sequence_dirs(source.split, duration, source.name):
            remove_stale_temps(folder)
    with Image.open(frame_paths[0]) as first:
        size = video_size(first.width, first.height, config.video.size)
    ctx = SequenceContext(source.split, source.name, config, layout, timestamps, frame_paths, size)
    with EventFile(source.events_path) as events:
        if not events.has_t_offset:
            log.warning("%s: no t_offset dataset; taking it as 0", source.events_path)
        stats.events_in_sequence = events.num_events
        _stream(ctx, todo, needs, done, events, manifest, stats, reporter, job.key)
        stats.events_decoded = events.events_decoded
    return JobResult(job.key, stats, too_short)


def _stream(
    ctx: SequenceContext,
    todo: list[Clip],
    needs: dict[tuple[str, int], set[str]],
    done: dict[tuple[str, int], ClipRecord],
    events: EventFile,
    manifest: Manifest,
    stats: JobStats,
    reporter: Reporter,
    key: str,
) -> None:
    """The single pass: blocks between consecutive clip boundaries, in time order."""
    bounds = np.unique(np.array([t for c in todo for t in (c.t0, c.t1)], dtype=np.int64))
    index = dict(zip(bounds.tolist(), events.index_at(bounds).tolist(), strict=True))
    opening: dict[int, list[Clip]] = defaultdict(list)
    closing: dict[int, list[Clip]] = defaultdict(list)
    for clip in todo:
        opening[clip.t0].append(clip)
        closing[clip.t1].append(clip)
    reporter.job_started(key, len(todo), sum(index[c.t1] - index[c.t0] for c in todo))

    chunk = ctx.config.max_chunk_events
    open_clips: dict[tuple[str, int], ClipBuilder] = {}
    writer = manifest.writer(ctx.split, ctx.sequence)
    try:
        for b0, b1 in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            for clip in opening.get(b0, []):
                open_clips[clip.key] = ClipBuilder(
                    ctx, clip, index[clip.t0], index[clip.t1], needs[clip.key]
                )
            eaters = [b for b in open_clips.values() if b.wants_events]
            if eaters:
                for start in range(index[b0], index[b1], chunk):
                    block = events.read(start, min(start + chunk, index[b1]))
                    for builder in eaters:
                        builder.feed_events(start, block)
            watchers = [b for b in open_clips.values() if b.wants_frames]
            if watchers:
                lo, hi = np.searchsorted(ctx.timestamps, [b0, b1], side="left").tolist()
                for i in range(lo, hi):
                    frame = to_video_frame(decode_frame(ctx.frame_paths[i]), *ctx.video_size)
                    stats.frames_decoded += 1
                    for builder in watchers:
                        builder.feed_frame(frame)
            for clip in closing.get(b1, []):
                builder = open_clips.pop(clip.key)
                before = done[clip.key].components if clip.key in done else ()
                record = builder.finish(before)
                writer.append(record)
                stats.clips_built += 1
                stats.clips_empty += record.empty
                stats.events_in_clips += record.num_events
                stats.files_written += builder.files_written
                stats.bytes_written += builder.bytes_written
                stats.frames_encoded += builder.frames_encoded
                reporter.clip_done(key, record.num_events)
    finally:
        for builder in open_clips.values():
            builder.abort()
        writer.close()
