"""The benchmark's toolkit: machine facts, disk and CPU speed, input synthesis, builds
in fresh processes, and the markdown table. ``bench_build.py`` runs the modes.

Units are decimal: MB = 1e6 bytes, GB = 1e9 bytes, M = 1e6.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import multiprocessing as mp
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from egpt_dsec.config import BuildConfig, VideoOptions
from egpt_dsec.durations import DEFAULT_DURATIONS
from egpt_dsec.execute.report import JobStats
from egpt_dsec.kinds import KIND_NAMES

STAGES = (
    "read_events",
    "write_npy",
    "render",
    "write_png",
    "decode_frames",
    "encode_mp4",
    "remux_mp4",
    "link_frames",
)
RENDER_TARGET = 200e6  # events/s on one core
RSS_TARGET = 2e9  # bytes, for a 400M-event 16 s clip
FLOOR_TARGET = 1.5  # wall / disk floor
SCALING_TARGET = 1.7  # 2 workers vs 1
ONCE_TOLERANCE = 0.05  # decodes per source item within 5% of 1
BIG_CLIP_FREE = 12e9  # bytes free needed for --big-clip
BLOCK = 8 * 2**20  # disk test block
DISK_STREAMS = 4  # files written at once by the disk test


# ---------------------------------------------------------------------------
# Machine, disk and formatting helpers


def fmt_rate(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    sep = "" if unit == "B" else " "
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:,.1f} {prefix}{sep}{unit}/s"
    return f"{value:,.1f} {unit}/s"


def fmt_bytes(value: float) -> str:
    for scale, prefix in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if value >= scale:
            return f"{value / scale:,.2f} {prefix}"
    return f"{value:,.0f} B"


def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f} s"


def div(a: float, b: float) -> float | None:
    return a / b if b else None


def verdict(met: bool) -> str:
    return "**met**" if met else "**MISSED**"


def once(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio:.4f} (target 1 ±5%: {verdict(abs(ratio - 1) <= ONCE_TOLERANCE)})"


def _ram_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def machine_facts(folder: Path) -> list[str]:
    """CPU, RAM, disk and library versions, as markdown list lines."""
    import av
    import h5py
    import numba
    import numpy as np

    usage = shutil.disk_usage(folder)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return [
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- CPU: {os.cpu_count()} x {_cpu_model()}",
        f"- RAM: {_ram_bytes() / 1e9:.1f} GB",
        f"- OS: {platform.platform()}",
        f"- python {platform.python_version()}, numpy {np.__version__}, av {av.__version__}, "
        f"h5py {h5py.__version__}, numba {numba.__version__}",
        f"- output disk: {folder.resolve()} ({fmt_bytes(usage.free)} free of "
        f"{fmt_bytes(usage.total)})",
        f"- load average at start: {load} (other processes on the machine lower the numbers)",
    ]


def _write_file(path: Path, blocks: int, block: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(blocks):
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)


def disk_write_speed(folder: Path, gib: float, streams: int = DISK_STREAMS) -> float:
    """Sequential write speed of ``folder``'s disk in bytes/s, then the files are deleted.

    ``streams`` files written at once in 8 MiB blocks, each fsync'ed; a build also writes
    many files at once, and this disk sustains more with several streams than with one.
    """
    per_stream = max(1, round(gib * 2**30 / BLOCK / streams))
    block = os.urandom(BLOCK)  # incompressible, in case the storage compresses
    paths = [folder / f".disk-speed-test-{i}" for i in range(streams)]
    os.sync()
    started = time.perf_counter()
    try:
        threads = [
            threading.Thread(target=_write_file, args=(path, per_stream, block)) for path in paths
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
    finally:
        for path in paths:
            path.unlink(missing_ok=True)
    return streams * per_stream * BLOCK / seconds


def _spin(n: int) -> float:
    """A fixed amount of pure CPU work; returns its own wall time."""
    started = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i % 7
    return time.perf_counter() - started


def cpu_capacity(workers: int = 2, n: int = 15_000_000) -> float:
    """How many cores this many busy processes really get now: ``workers`` x t(1) / t(n).

    The same work alone, then in ``workers`` processes at once; 2.0 = two idle cores,
    about 1.0 = the rest of the machine already uses the other core.
    """
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        list(pool.map(_spin, [n // 10] * workers))  # start the processes
        alone = pool.submit(_spin, n).result()
        started = time.perf_counter()
        list(pool.map(_spin, [n] * workers))
        together = time.perf_counter() - started
    return workers * alone / together


@dataclass(frozen=True)
class DiskSpeed:
    """The sequential write speed measured before and after a build (shared disks vary)."""

    before: float
    after: float

    @property
    def best(self) -> float:
        """The faster one: it gives the lower, stricter floor."""
        return max(self.before, self.after)


def evict_inputs(root: Path) -> None:
    """Flush, then drop ``root``'s files from the page cache, so the build reads from disk."""
    os.sync()
    for dirpath, _, names in os.walk(root):
        for name in names:
            with contextlib.suppress(OSError):
                fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)


def tree_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder`` that have one link (hard-linked frames cost none)."""
    total = 0
    for dirpath, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(dirpath, name))
                if st.st_nlink == 1 and not os.path.islink(os.path.join(dirpath, name)):
                    total += st.st_size
    return total


class Table:
    """A markdown table built row by row."""

    def __init__(self, *header: str) -> None:
        self.header = header
        self.rows: list[tuple[str, ...]] = []

    def add(self, *cells: str) -> None:
        self.rows.append(tuple(cells) + ("",) * (len(self.header) - len(cells)))

    def section(self, title: str) -> None:
        self.add(f"**{title}**")

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.header) + " |"]
        lines.append("|" + "|".join("---" for _ in self.header) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Input synthesis (in parallel processes) and builds (each in a fresh process)


@dataclass(frozen=True)
class SeqPlan:
    """One sequence to write: synthetic (``rate``) or replayed real events."""

    name: str
    index: int
    seconds: float
    rate: float
    frame_size: tuple[int, int]
    seed: int
    real_sample: Path | None = None  # set = replay the real sample


def _write_seq(root: Path, plan: SeqPlan) -> int:
    """Write one sequence under ``root/train``; returns its event count."""
    from egpt_dsec.synth.dataset import SequenceSlot, write_sequence
    from egpt_dsec.synth.real import write_replayed_sequence
    from egpt_dsec.synth.spec import SynthSpec

    folder = root / "train" / plan.name
    if plan.real_sample is not None:
        return write_replayed_sequence(
            folder, plan.seconds, plan.frame_size, plan.real_sample, plan.seed
        )
    spec = SynthSpec(
        sequences=plan.index + 1,
        seconds=plan.seconds,
        rate=plan.rate,
        seed=plan.seed,
        frame_size=plan.frame_size,
    )
    write_sequence(folder, spec, SequenceSlot("train", plan.name, plan.index))
    return round(plan.rate * plan.seconds)


def synthesize(root: Path, plans: Sequence[SeqPlan]) -> float:
    """Write every planned sequence, in parallel processes; returns the seconds taken."""
    started = time.perf_counter()
    workers = max(1, min(len(plans), os.cpu_count() or 1))
    if workers == 1:
        for plan in plans:
            _write_seq(root, plan)
    else:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            for future in [pool.submit(_write_seq, root, plan) for plan in plans]:
                future.result()
    return time.perf_counter() - started


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
        channel.send(("ok", report.totals, len(report.results), errors, wall, sync, seconds))
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
    process.start()
    send.close()
    try:
        message = receive.recv()
    except EOFError:
        message = ("error", f"build process died (exit code {process.exitcode})")
    process.join()
    if message[0] != "ok":
        raise RuntimeError(f"build {label} failed:\n{message[1]}")
    _, stats, jobs, errors, wall, sync, seconds = message
    run = BuildRun(
        label, config, stats, jobs, errors, wall, sync, tree_bytes(config.out), os.getloadavg()
    )
    run.job_seconds = seconds
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
    shard = args.shard_seconds if args.shard_seconds is not None else 60.0
    base = BuildConfig(
        dsec_root=root,
        out=out,
        durations=args.durations or DEFAULT_DURATIONS,
        components=args.components or KIND_NAMES,
        workers=args.workers or 1,
        video=VideoOptions(mode=args.mp4_mode),
        shard_seconds=shard or None,
    )
    return replace(base, **over)


def seq_plans(args: argparse.Namespace, count: int, seconds: float, rate: float) -> list[SeqPlan]:
    sample = sample_dir(args) if args.replay_real else None
    return [
        SeqPlan(f"bench_{i:02d}", i, seconds, rate, args.frame_size, args.seed + i, sample)
        for i in range(count)
    ]


def sample_dir(args: argparse.Namespace) -> Path:
    from egpt_dsec.synth.real import REAL_SAMPLE_DIR

    return Path(args.real_sample) if args.real_sample else REAL_SAMPLE_DIR


def data_line(args: argparse.Namespace, plans: Sequence[SeqPlan], synth_s: float) -> str:
    cache = (
        "left in the page cache (--warm-input)"
        if args.warm_input
        else "evicted from the page cache before each build"
    )
    if args.replay_real:
        from egpt_dsec.synth.real import load_windows, replay_rate

        rate = replay_rate(load_windows(sample_dir(args)))
        kind = f"real DSEC sample replayed at its own rate ({rate / 1e6:.2f} M ev/s)"
    else:
        kind = f"synthetic events at {plans[0].rate / 1e6:g} M ev/s"
    seconds = " + ".join(f"{p.seconds:g}" for p in plans)
    w, h = plans[0].frame_size
    return (
        f"- input: {len(plans)} sequence(s) of {seconds} s, {kind}, {w}x{h} frames at 20 Hz "
        f"(written in {synth_s:.1f} s, {cache})"
    )


def build_line(config: BuildConfig) -> str:
    shard = "whole sequences" if config.shard_seconds is None else f"{config.shard_seconds:g} s"
    durations = ",".join(d.label for d in config.durations)
    return (
        f"- build: workers {config.workers}, durations {durations}"
        f", components {','.join(config.components)}, mp4 mode {config.video.mode}, "
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
