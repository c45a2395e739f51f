"""One job = one work unit (a sequence, or one time shard of it): ONE pass in time order.

The clip boundaries of all durations cut the unit into blocks. Each block's events
are read once from the HDF5 and handed to every open clip; each frame is decoded
once and fed to every open clip's encoder (or, in remux mode, to the one sequence
encoder whose packets are later copied into each clip's MP4). A clip is committed
when the pass reaches its end and its files are in place. Given more than one core,
the job runs its slow stages on bounded lanes beside the pass (``execute.lanes``);
memory is bounded by a few chunks of events, the lanes' queues and the open clips'
writers, whatever the clip length.

The job is handed its plan (clips, what is done, what each clip needs); it plans
nothing itself.
"""

from __future__ import annotations

import errno
import logging
import resource
import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.config import BuildConfig
from egpt_dsec.execute.context import SequenceContext
from egpt_dsec.execute.event_stream import EventStream
from egpt_dsec.execute.frame_source import FrameSource
from egpt_dsec.execute.lanes import Lanes
from egpt_dsec.execute.report import JobResult, JobStats, NullReporter, Reporter
from egpt_dsec.execute.sequence_pass import SequencePass, finish_unit_writers
from egpt_dsec.execute.work import WorkPlan, clip_kinds
from egpt_dsec.fs import UnsafeOutputPath
from egpt_dsec.kinds import UnitContext, UnitWriter
from egpt_dsec.layout.state import StateLayout, unit_name
from egpt_dsec.plan.clips import Clip
from egpt_dsec.plan.shards import Shard
from egpt_dsec.source.discover import SequenceSource
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.state.manifest import Manifest
from egpt_dsec.state.running import mark_running
from egpt_dsec.writers.video_frame import video_size

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SequenceJob:
    """A unit of work an executor can ship anywhere: plain, picklable values only."""

    source: SequenceSource
    config: BuildConfig
    timestamps: NDArray[np.int64]
    shard: Shard
    work: WorkPlan
    # Cores the job may use: with more than one, its stages run side by side on threads.
    # The bytes written never depend on it.
    cores: int = 1

    @property
    def key(self) -> str:
        return unit_name(self.source.key, self.shard.unit)


def run_job(job: SequenceJob, reporter: Reporter | None = None) -> JobResult:
    """Run one job; input problems become the result's error, never an exception."""
    reporter = reporter or NullReporter()
    started, cpu_before = time.monotonic(), _cpu_time()
    state = StateLayout(job.config.out)
    marker = mark_running(state, job.source.split, job.source.name, job.shard.unit)
    try:
        result = _run(job, Manifest(state), reporter)
    except (InputError, UnsafeOutputPath) as exc:
        log.error("%s: %s", job.key, exc)
        result = JobResult(job.key, error=str(exc))
    except Exception as exc:
        result = JobResult(job.key, error=_describe_failure(job, exc))
    finally:
        marker.unlink(missing_ok=True)
    result.seconds = time.monotonic() - started
    result.stats.cpu_seconds = _cpu_time() - cpu_before
    result.stats.peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    reporter.job_finished(result)
    return result


def _cpu_time() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
    source, config, work = job.source, job.config, job.work
    stats = JobStats(clips_planned=len(work.clips))
    todo = work.todo
    stats.clips_skipped = len(work.clips) - len(todo)
    if not todo:
        reporter.job_started(job.key)
        return JobResult(job.key, stats)

    frames = FrameSource.of(source, config, len(job.timestamps))
    size = video_size(*frames.size(), config.mp4.size)
    lanes = Lanes.for_cores(job.cores)
    unit = UnitContext(
        source.split, source.name, config.output, job.timestamps, frames, size, stats, lanes
    )
    ctx = SequenceContext(unit, config, frames, stats, lanes, clip_kinds(config))
    try:
        with EventFile(source.files.events_h5) as events:
            if not events.has_t_offset:
                log.warning("%s: no t_offset dataset; taking it as 0", source.files.events_h5)
            stream = EventStream.of(events, source, config)
            _pass(job, ctx, stream, manifest, reporter)
            stats.events_decoded = events.events_decoded
            stats.events_in_sequence = _owned_events(events, work.clips, job.shard)
    finally:
        lanes.close()
    stats.frames_in_sequence = max(c.frame_stop for c in work.clips) - work.clips[0].frame_start
    return JobResult(job.key, stats)


def _pass(
    job: SequenceJob,
    ctx: SequenceContext,
    events: EventStream,
    manifest: Manifest,
    reporter: Reporter,
) -> None:
    """The streaming pass, then the kinds written per work unit (remux MP4s)."""
    work = job.work
    writer = manifest.writer(ctx.split, ctx.sequence, job.shard.unit)
    try:
        unit_writers = _unit_writers(job, ctx)
        span = work.clips if unit_writers else work.todo
        records = SequencePass(ctx, work, span, events, writer, reporter, job.key).run(unit_writers)
        finish_unit_writers(unit_writers, work, records, writer)
    finally:
        writer.close()


def _unit_writers(job: SequenceJob, ctx: SequenceContext) -> dict[str, UnitWriter]:
    """The writers of the kinds written once per work unit that some clip still needs.
    They are made from every clip of the unit, never from what is left to do, so a
    resumed build writes exactly the same bytes."""
    work, found = job.work, {}
    scratch = StateLayout(ctx.config.out).scratch_file(ctx.split, ctx.sequence, job.shard.unit)
    for kind, options in ctx.kinds:
        if any(kind.name in work.needs[c.key] for c in work.todo):
            made = kind.unit_writer(ctx.unit, work.clips, options, scratch)
            if made is not None:
                found[kind.name] = made
    return found


def _owned_events(events: EventFile, clips: tuple[Clip, ...], shard: Shard) -> int:
    """Events of the part of the sequence this job owns (shards' spans do not overlap)."""
    span = [max(shard.start, clips[0].t0), min(shard.stop, max(c.t1 for c in clips))]
    owned = events.index_at(np.array(span, np.int64))
    return int(owned[1] - owned[0])
