"""The whole build: find sequences, plan, run one job per sequence, write the JSON files."""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.config import BuildConfig
from egpt_dsec.errors import OutputError
from egpt_dsec.execute.executor import Executor, LocalExecutor
from egpt_dsec.execute.job import SequenceJob
from egpt_dsec.execute.lock import output_lock
from egpt_dsec.execute.report import JobResult, JobStats, NullReporter, Reporter
from egpt_dsec.layout import OutputLayout
from egpt_dsec.manifest import Manifest, SequencePlan
from egpt_dsec.options_record import (
    OptionsChangedError,
    changed_options,
    save_last_config,
    save_options,
)
from egpt_dsec.plan.clips import plan_windows
from egpt_dsec.plan.shards import plan_shards
from egpt_dsec.source.discover import SequenceSource, discover_sequences
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.timestamps import read_timestamps
from egpt_dsec.writers.annotations import ClipEntry, annotation_files
from egpt_dsec.writers.atomic import atomic_write_bytes, remove_stale_temps
from egpt_dsec.writers.safe_paths import UnsafeOutputPath, ensure_inside

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    results: list[JobResult] = field(default_factory=list)
    annotation_files: int = 0

    @property
    def totals(self) -> JobStats:
        total = JobStats()
        for result in self.results:
            total = total + result.stats
        return total

    @property
    def failures(self) -> list[JobResult]:
        return [r for r in self.results if not r.ok]

    @property
    def too_short(self) -> dict[str, tuple[str, ...]]:
        return {r.key: r.too_short_for for r in self.results if r.too_short_for}


def build(
    config: BuildConfig,
    executor: Executor | None = None,
    reporter: Reporter | None = None,
    rebuild_changed: bool = False,
) -> BuildReport:
    """Build every requested output; one bad sequence is reported, never fatal to others."""
    layout = OutputLayout(config.out)
    check_writable(config.out)
    with output_lock(layout.state_dir):
        return _build(config, executor or LocalExecutor(config.workers), reporter, rebuild_changed)


def check_writable(out: Path) -> None:
    """Fail at once, with the folder named, if the output cannot be written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(
            f"cannot write to the output folder {out}: {exc.strerror or exc}. "
            "Choose another --out or fix its permissions."
        ) from None


def _build(
    config: BuildConfig, executor: Executor, reporter: Reporter | None, rebuild_changed: bool
) -> BuildReport:
    reporter = reporter or NullReporter()
    layout = OutputLayout(config.out)
    manifest = Manifest(layout.state_dir)
    changes = changed_options(layout.state_dir, config)
    if changes and not rebuild_changed:
        raise OptionsChangedError(config.out, changes)
    if changes:
        manifest.forget_components(set(changes))
    save_options(layout.state_dir, config)
    save_last_config(layout.state_dir, config)
    sources = discover_sequences(config.dsec_root, config.splits, config.sequences, config.camera)
    planned, early_failures = _write_plans(sources, config, manifest)
    unsafe = _clear_stale_temps(config, [source for source, _ in planned])
    early_failures += unsafe
    planned = [(s, ts) for s, ts in planned if s.key not in {f.key for f in unsafe}]
    jobs = [
        SequenceJob(source, config, shard)
        for source, timestamps in planned
        for shard in plan_shards(timestamps, config.shard_us)
    ]
    jobs.sort(key=_size_hint, reverse=True)  # largest first balances the pool
    report = BuildReport(results=early_failures + executor.run(jobs, reporter))
    # Workers killed mid-job (a Ray retry, an OOM kill) leave temps; no job runs now.
    _clear_stale_temps(config, [source for source, _ in planned])
    if config.wants("json"):
        report.annotation_files = write_annotations(config, manifest, [s.split for s in sources])
    return report


def _write_plans(
    sources: list[SequenceSource], config: BuildConfig, manifest: Manifest
) -> tuple[list[tuple[SequenceSource, NDArray[np.int64]]], list[JobResult]]:
    """Record every sequence's planned clip counts so ``status`` knows the whole build."""
    ok, failed = [], []
    for source in sources:
        try:
            timestamps = read_timestamps(source.timestamps_path)
        except InputError as exc:
            log.error("%s: %s", source.key, exc)
            failed.append(JobResult(source.key, error=str(exc)))
            continue
        counts = {
            d.label: len(plan_windows(timestamps, d, config.overlap)) for d in config.durations
        }
        manifest.write_plan(SequencePlan(source.split, source.name, counts, config.components))
        ok.append((source, timestamps))
    return ok, failed


def _clear_stale_temps(config: BuildConfig, sources: list[SequenceSource]) -> list[JobResult]:
    """Remove what crashed runs or killed workers left, under the lock and while no job
    runs (jobs of one sequence run side by side and must not delete each other's temps).
    A sequence whose output folder lies outside OUT (a planted link) fails alone."""
    layout = OutputLayout(config.out)
    failures = []
    for source in sources:
        try:
            for duration in config.durations:
                for folder in layout.sequence_dirs(source.split, duration, source.name):
                    ensure_inside(config.out, folder)
                    remove_stale_temps(folder)
        except UnsafeOutputPath as exc:
            log.error("%s: %s", source.key, exc)
            failures.append(JobResult(source.key, error=str(exc)))
    for split in sorted({source.split for source in sources}):
        for kind in ("scratch", "plan", "manifest"):
            remove_stale_temps(layout.state_dir / kind / split)
    remove_stale_temps(layout.state_dir)
    return failures


def _size_hint(job: SequenceJob) -> float:
    """Expected work: the events file size times the share of time the shard covers."""
    try:
        size = job.source.events_path.stat().st_size
    except OSError:
        return 0.0
    return size / job.shard.count


def write_annotations(config: BuildConfig, manifest: Manifest, splits: list[str]) -> int:
    """Write ``dataset.json`` (+ ``videollava.json``) per split and duration from the manifest."""
    layout = OutputLayout(config.out)
    entries: dict[tuple[str, str], list[ClipEntry]] = defaultdict(list)
    covered: dict[tuple[str, str], int] = defaultdict(int)
    for (split, sequence), records in manifest.all_records().items():
        events_h5 = None
        if config.event_format == "ref":
            folder = config.dsec_root / split / sequence
            events_h5 = SequenceSource(split, sequence, folder, config.camera).events_path
        for record in records.values():
            covered[(split, record.duration)] += 1
            if not record.empty:
                entry = ClipEntry(split, sequence, record, events_h5, config.dsec_root)
                entries[(split, record.duration)].append(entry)
    written = 0
    for split in sorted(set(splits)):
        for duration in config.durations:
            dataset, videollava = annotation_files(
                entries.get((split, duration.label), []), config.questions
            )
            ensure_inside(config.out, layout.duration_dir(split, duration))
            remove_stale_temps(layout.duration_dir(split, duration))
            atomic_write_bytes(layout.dataset_json(split, duration), dataset)
            written += 1
            if videollava is not None:
                atomic_write_bytes(layout.videollava_json(split, duration), videollava)
                written += 1
            manifest.record_annotations(split, duration.label, covered[(split, duration.label)])
    return written
