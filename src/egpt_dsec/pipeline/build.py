"""``build``: plan once, sweep stale temps, run one job per work unit, write the JSON."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from egpt_dsec.config import EVENT_VIEW, BuildConfig
from egpt_dsec.config.record import (
    OptionsChangedError,
    changed_options,
    dataset_context,
    migrate,
    save_last_config,
    save_options,
)
from egpt_dsec.errors import OutputError
from egpt_dsec.execute.executor import Executor, LocalExecutor
from egpt_dsec.execute.job import SequenceJob, run_job
from egpt_dsec.execute.report import JobResult, JobStats, NullReporter, Reporter
from egpt_dsec.execute.work import WorkPlan
from egpt_dsec.fs import (
    UnsafeOutputPath,
    ensure_inside,
    remove_path,
    remove_stale_temps,
)
from egpt_dsec.kinds import CARD, JSON, KINDS, LABEL_QA
from egpt_dsec.kinds.base import Records
from egpt_dsec.layout.output import WRITE_PROBE_PREFIX
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.pipeline.planning import PlannedSequence, plan_build, store_plans
from egpt_dsec.pipeline.preflight import preflight
from egpt_dsec.source.discover import SequenceSource
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.state.labels import FAILED, LabelStore
from egpt_dsec.state.lock import output_lock
from egpt_dsec.state.manifest import Manifest

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    results: list[JobResult] = field(default_factory=list)
    too_short: dict[str, tuple[str, ...]] = field(default_factory=dict)  # key -> durations
    published: dict[str, list[Path]] = field(default_factory=dict)  # kind -> files (JSON, card)
    published_bytes: int = 0

    @property
    def totals(self) -> JobStats:
        total = JobStats()
        for result in self.results:
            total = total + result.stats
        return total

    @property
    def card(self) -> Path | None:
        return next(iter(self.published.get(CARD.name, [])), None)

    @property
    def files_written(self) -> int:
        """Every file the build wrote: the clips' (frame links too) and those it publishes
        once per dataset, the JSON files and the card (rewritten only where they change)."""
        return self.totals.files_written + sum(len(p) for p in self.published.values())

    @property
    def bytes_written(self) -> int:
        return sum(self.totals.bytes_written.values()) + self.published_bytes

    @property
    def failures(self) -> list[JobResult]:
        return [r for r in self.results if not r.ok]


def build(
    config: BuildConfig,
    executor: Executor | None = None,
    reporter: Reporter | None = None,
    rebuild_changed: bool = False,
) -> BuildReport:
    """Build every requested output; one bad sequence is reported, never fatal to others.

    Every check of ``pipeline.preflight`` (the DSEC root, --out apart from it, writable,
    not locked, not someone else's files) passes before anything is written.
    """
    sources = preflight(config)
    check_writable(config.out)
    with output_lock(StateLayout(config.out)):
        report = _build(
            config, sources, executor or LocalExecutor(config.workers),
            reporter or NullReporter(), rebuild_changed,
        )  # fmt: skip
        report.published = publish(config)
        report.results += label_failures(config)
        report.published_bytes = sum(
            path.stat().st_size for paths in report.published.values() for path in paths
        )
        return report


def label_failures(config: BuildConfig) -> list[JobResult]:
    """With ``label_qa``: the sequences whose labels are malformed (each failed alone)."""
    if not config.wants(LABEL_QA.name):
        return []
    index = LabelStore(StateLayout(config.out)).index()
    return [
        JobResult(f"{split}/{sequence}", error=found.problem)
        for (split, sequence), found in sorted(index.items())
        if found.status == FAILED
    ]


def publish(config: BuildConfig) -> dict[str, list[Path]]:
    """Write the kinds written once per dataset (the JSON files with the active answers,
    then the card) from the manifest; holds no lock itself (the caller does). Returns the
    paths each wrote."""
    state = StateLayout(config.out)
    ctx = dataset_context(config, sorted(_planned_splits(state)))
    written = {kind.name: kind.publish(ctx) for kind in config.kinds if kind.per_dataset}
    if config.wants(JSON.name):
        _record_coverage(Manifest(state), ctx.records)
    return written


def _record_coverage(manifest: Manifest, records: Records) -> None:
    """What the JSON files now cover, per split and duration (empty clips too), for status."""
    covered: dict[tuple[str, str], int] = {}
    for (split, _), clips in records.items():
        for record in clips.values():
            covered[(split, record.duration)] = covered.get((split, record.duration), 0) + 1
    for (split, label), count in covered.items():
        manifest.record_annotations(split, label, count)


def _planned_splits(state: StateLayout) -> set[str]:
    return {path.parent.name for path in state.plan_files()}


def check_writable(out: Path) -> None:
    """Fail at once, with the folder named, if the output cannot be written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f"{WRITE_PROBE_PREFIX}{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(
            f"cannot write to the output folder {out}: {exc.strerror or exc}. "
            "Choose another --out or fix its permissions."
        ) from None


def _build(
    config: BuildConfig,
    sources: list[SequenceSource],
    executor: Executor,
    reporter: Reporter,
    rebuild_changed: bool,
) -> BuildReport:
    state = StateLayout(config.out)
    manifest = Manifest(state)
    migrate(state)
    changes = changed_options(state, config)
    if changes and not rebuild_changed:
        raise OptionsChangedError(config.out, changes)
    if changes:
        manifest.forget_components(set(changes))
    save_options(state, config)
    save_last_config(state, config)
    plan = plan_build(config, sources)
    store_plans(state, plan.planned, config)
    unsafe = _clear_leftovers(config, plan.planned)
    planned = [p for p in plan.planned if p.source.key not in {f.key for f in unsafe}]
    jobs = sorted(_jobs(planned, config, manifest), key=_size_hint, reverse=True)
    # Largest first (above) balances the pool; totals known before the first clip.
    reporter.build_started(
        len(jobs), sum(len(j.work.todo) for j in jobs), _events_to_read(jobs, config)
    )
    # Units with nothing left to do (a resumed build) finish here: no worker to start.
    idle = [run_job(job, reporter) for job in jobs if not job.work.todo]
    try:
        results = idle + executor.run([job for job in jobs if job.work.todo], reporter)
    finally:
        # Jobs stopped mid-clip (Ctrl-C, a Ray retry, an OOM kill) leave temps; the
        # executor has stopped them, so no job runs now.
        _clear_leftovers(config, planned)
    return BuildReport(
        results=plan.failures + unsafe + results,
        too_short={p.source.key: p.plan.too_short_for for p in planned if p.plan.too_short_for},
    )


def _jobs(
    planned: list[PlannedSequence], config: BuildConfig, manifest: Manifest
) -> list[SequenceJob]:
    """One job per work unit, each carrying its clips and what is already done."""
    jobs = []
    for p in planned:
        done = manifest.sequence_records(p.source.split, p.source.name)
        for shard in p.plan.shards:
            work = WorkPlan.of(p.plan.clips_of(shard), done, config)
            jobs.append(SequenceJob(p.source, config, p.plan.timestamps, shard, work))
    return jobs


def _events_to_read(jobs: list[SequenceJob], config: BuildConfig) -> int:
    """Source events the jobs will read, from each file's millisecond index alone."""
    by_source: dict[SequenceSource, list[tuple[int, int]]] = {}
    for job in jobs:
        by_source.setdefault(job.source, []).extend(job.work.event_windows(config))
    total = 0
    for source, windows in by_source.items():
        if not windows:
            continue
        try:
            with EventFile(source.files.events_h5) as events:
                found = events.approx_index_at(np.array(windows, dtype=np.int64).ravel())
        except InputError:
            continue  # the job reports the broken file
        total += int((found[1::2] - found[0::2]).sum())
    return total


def _clear_leftovers(config: BuildConfig, planned: list[PlannedSequence]) -> list[JobResult]:
    """Remove what crashed runs or killed workers left, under the lock and while no job
    runs (jobs of one sequence run side by side and must not delete each other's temps),
    and what each kind's options no longer use (kept event-view frames once video is
    built in the camera view). A sequence whose output folder lies outside OUT (a planted
    link) fails alone."""
    layout, state = config.output, StateLayout(config.out)
    event_view = config.frames_view == EVENT_VIEW
    failures = []
    for source in (p.source for p in planned):
        try:
            for kind in KINDS:
                for folder in kind.sequence_folders(
                    layout, source.split, config.durations, source.name
                ):
                    ensure_inside(config.out, folder)
                    remove_stale_temps(folder)
            for kind in config.kinds:
                options = config.options_of(kind)
                for path in kind.obsolete(layout, source.split, source.name, options, event_view):
                    ensure_inside(config.out, path)
                    remove_path(path)
        except UnsafeOutputPath as exc:
            log.error("%s: %s", source.key, exc)
            failures.append(JobResult(source.key, error=str(exc)))
    for split in sorted({p.source.split for p in planned}):
        for folder in state.split_folders(split):
            remove_stale_temps(folder)
    remove_stale_temps(state.root)
    return failures


def _size_hint(job: SequenceJob) -> float:
    """Expected work: the events file size times the share of time the shard covers."""
    try:
        size = job.source.files.events_h5.stat().st_size
    except OSError:
        return 0.0
    return size / job.shard.count
