"""Builds measured one by one, each in a fresh spawned process, inputs evicted first."""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchkit import evict_inputs, say, tree_bytes
from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import DEFAULT_DURATIONS
from egpt_dsec.execute.report import JobStats
from egpt_dsec.kinds import DEFAULT_COMPONENTS
from egpt_dsec.kinds.mp4 import Mp4Options


@dataclass
class BuildRun:
    """One measured build."""

    label: str
    config: BuildConfig
    stats: JobStats
    jobs: int
    errors: list[str]
    wall: float  # build() call
    sync: float  # os.sync() right after: flushing what the build left in the page cache
    out_bytes: int  # files under OUT with one link, walked after the build
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)  # load average after the build
    job_seconds: list[float] = field(default_factory=list)
    job_stats: dict[str, JobStats] = field(default_factory=dict)  # by job key
    process: float = 0.0  # the build's process from start to its answer (imports included)

    @property
    def wall_sync(self) -> float:
        return self.wall + self.sync

    @property
    def peak_rss(self) -> int:
        return self.stats.peak_rss_bytes

    def stage(self, name: str) -> float:
        return self.stats.stage_seconds.get(name, 0.0)


def _build_child(config: BuildConfig, channel: Any) -> None:
    """Runs in a spawned process: build, sync, and send back what was measured."""
    try:
        from egpt_dsec.pipeline import build

        started = time.perf_counter()
        report = build(config)
        wall = time.perf_counter() - started
        started = time.perf_counter()
        os.sync()
        sync = time.perf_counter() - started
        errors = [f"{r.key}: {r.error}" for r in report.failures]
        seconds = [r.seconds for r in report.results]
        per_job = {r.key: r.stats for r in report.results}
        channel.send(("ok", report.totals, per_job, errors, wall, sync, seconds))
    except BaseException:
        channel.send(("error", traceback.format_exc()))
    finally:
        channel.close()


def run_build(label: str, config: BuildConfig, args: argparse.Namespace) -> BuildRun:
    """One build in a fresh spawned process (its peak RSS is its own), inputs evicted first."""
    if args.warm_input:
        os.sync()
    else:
        evict_inputs(config.dsec_root)
    say(f"build {label}: workers={config.workers}, out={config.out}")
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_build_child, args=(config, send))
    started = time.perf_counter()
    process.start()
    send.close()
    try:
        message = receive.recv()
    except EOFError:
        message = ("error", f"build process died (exit code {process.exitcode})")
    lifetime = time.perf_counter() - started
    process.join()
    if message[0] != "ok":
        raise RuntimeError(f"build {label} failed:\n{message[1]}")
    _, stats, per_job, errors, wall, sync, seconds = message
    out_bytes = tree_bytes(config.out)
    run = BuildRun(
        label, config, stats, len(per_job), errors, wall, sync, out_bytes, os.getloadavg()
    )
    run.job_seconds, run.job_stats, run.process = seconds, per_job, lifetime
    say(f"build {label}: {wall:.1f} s (+{sync:.1f} s sync), {len(errors)} failed jobs")
    return run


# ---------------------------------------------------------------------------
# The scratch folder and the run context


@dataclass(frozen=True)
class Bench:
    """One benchmark invocation: its options, scratch folder and machine facts."""

    args: argparse.Namespace
    work: Path
    facts: list[str]
    argv: list[str]


@contextlib.contextmanager
def scratch(out: Path, keep: bool) -> Iterator[Path]:
    """A fresh ``run-*`` folder inside ``out``; removed afterwards (with ``out`` if we made
    it and it is empty) unless ``keep``."""
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    run = Path(tempfile.mkdtemp(prefix="run-", dir=out))
    try:
        yield run
    finally:
        if keep:
            say(f"kept {run}")
        else:
            shutil.rmtree(run, ignore_errors=True)
            if made:
                with contextlib.suppress(OSError):
                    out.rmdir()


def bench_config(args: argparse.Namespace, root: Path, out: Path, **over: Any) -> BuildConfig:
    """The build's defaults, with the bench's options and ``over`` on top."""
    shards = {} if args.shard_seconds is None else {"shard_seconds": args.shard_seconds or None}
    base = BuildConfig(
        dsec_root=root,
        out=out,
        durations=args.durations or DEFAULT_DURATIONS,
        components=args.components or DEFAULT_COMPONENTS,
        workers=args.workers or 1,
        mp4=Mp4Options(mode=args.mp4_mode),
        **shards,
    )
    return replace(base, **over)


def build_line(config: BuildConfig) -> str:
    shard = "whole sequences" if config.shard_seconds is None else f"{config.shard_seconds:g} s"
    durations = ",".join(d.label for d in config.durations)
    return (
        f"- build: workers {config.workers}, durations {durations}"
        f", components {','.join(config.components)}, mp4 mode {config.mp4.mode}, "
        f"shards {shard}"
    )


def after_line(runs: Sequence[BuildRun]) -> str:
    loads = "; ".join(f"{r.label} {', '.join(f'{v:.2f}' for v in r.load)}" for r in runs)
    return f"- load average after each build: {loads}"


def check_errors(runs: Sequence[BuildRun]) -> int:
    bad = [e for r in runs for e in r.errors]
    for error in bad:
        print(f"FAILED JOB: {error}", file=sys.stderr)
    return 1 if bad else 0
