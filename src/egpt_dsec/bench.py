"""``egpt-dsec bench``: how fast a build runs, stage by stage, against the speed of its disk.

Synthesizes a DSEC root at a real event rate (or replays the real event sample), builds
it, and prints the machine facts and ONE markdown table: per-stage rates and wall times,
decode counters (each event and frame decoded once?), peak RSS, bytes per component, and
the disk floor (bytes written / the sequential write speed measured in the same run).

Modes: the default full build, ``--mp4-compare`` (remux vs encode), ``--scaling`` (1 vs
2 workers), ``--big-clip`` (one ~400M-event 16 s clip), ``--skew`` (whole sequences vs
time shards on a skewed set). Every build runs in a fresh spawned process, so its peak
RSS is its own; input files are flushed and evicted from the page cache before each
build, and ``wall+sync`` adds the time to flush what the build left in the page cache.
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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from egpt_dsec import argtypes
from egpt_dsec.config import COMPONENTS, MP4_MODES, BuildConfig, VideoOptions
from egpt_dsec.durations import DEFAULT_DURATIONS, Duration
from egpt_dsec.execute.report import JobStats

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
# Arguments


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``egpt-dsec bench`` (also used by ``benchmarks/bench_build.py``)."""
    data = parser.add_argument_group("data (defaults depend on the mode)")
    data.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="length of each sequence (20; scaling 10; mp4-compare 20; big-clip 16.2; "
        "skew: the long one, 60)",
    )
    data.add_argument(
        "--rate",
        type=float,
        default=None,
        help="events per second (5e6, a real DSEC rate; big-clip 25e6; skew 1e6; "
        "mp4-compare 2e5: events play no part there)",
    )
    data.add_argument(
        "--frame-size",
        type=argtypes.size,
        default=(640, 480),
        help="frame WxH (640x480 keeps it affordable; real DSEC frames are 1440x1080)",
    )
    data.add_argument(
        "--replay-real",
        action="store_true",
        help="events = the real DSEC sample (three 50 ms windows of interlaken_00_d) "
        "repeated in time at their own rate (~4.3M ev/s; --rate is ignored), synthetic frames",
    )
    data.add_argument("--real-sample", type=Path, default=None, help="folder of the real *.npz")
    data.add_argument("--seed", type=int, default=0)
    build = parser.add_argument_group("build")
    build.add_argument("--workers", type=int, default=None, help="(1; skew 2)")
    build.add_argument(
        "--durations",
        type=argtypes.durations,
        default=None,
        help="(all 8: " + ",".join(d.label for d in DEFAULT_DURATIONS) + "; big-clip 16s)",
    )
    build.add_argument(
        "--components",
        type=argtypes.csv_list,
        default=None,
        help="(all: " + ",".join(COMPONENTS) + "; scaling and skew event_npy,event_image; "
        "big-clip event_npy)",
    )
    build.add_argument("--mp4-mode", choices=MP4_MODES, default="remux", help="(remux)")
    build.add_argument(
        "--shard-seconds",
        type=float,
        default=None,
        help="shard length (the build default, 60; skew compares whole sequences with 10)",
    )
    run = parser.add_argument_group("run")
    run.add_argument(
        "--out",
        type=Path,
        default=Path("bench-out"),
        help="scratch folder, on the disk to measure (./bench-out); a run-* folder is made "
        "inside and removed afterwards unless --keep",
    )
    run.add_argument("--keep", action="store_true", help="keep the synthetic input and outputs")
    run.add_argument(
        "--warm-input",
        action="store_true",
        help="leave the input in the page cache (default: evict it, so the build reads the "
        "disk it writes to, as a real build would)",
    )
    run.add_argument(
        "--disk-gib",
        type=float,
        default=4.0,
        help="GiB written by the disk speed test, as 4 files at once (4)",
    )
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument(
        "--mp4-compare", action="store_true", help="MP4 only: remux mode vs encode mode"
    )
    modes.add_argument(
        "--scaling", action="store_true", help="npy+image on two sequences: 1 vs 2 workers"
    )
    modes.add_argument(
        "--big-clip",
        action="store_true",
        help="one 16 s clip of ~400M events, npy only: peak RSS and write speed (~12 GB free)",
    )
    modes.add_argument(
        "--skew",
        action="store_true",
        help="one long + four 8 s sequences, 2 workers: whole sequences vs 10 s shards",
    )


# ---------------------------------------------------------------------------
# Machine, disk and formatting helpers


def _fmt_rate(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    sep = "" if unit == "B" else " "
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:,.1f} {prefix}{sep}{unit}/s"
    return f"{value:,.1f} {unit}/s"


def _fmt_bytes(value: float) -> str:
    for scale, prefix in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if value >= scale:
            return f"{value / scale:,.2f} {prefix}"
    return f"{value:,.0f} B"


def _fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f} s"


def _div(a: float, b: float) -> float | None:
    return a / b if b else None


def _verdict(met: bool) -> str:
    return "**met**" if met else "**MISSED**"


def _once(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio:.4f} (target 1 ±5%: {_verdict(abs(ratio - 1) <= ONCE_TOLERANCE)})"


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
        f"- output disk: {folder.resolve()} ({_fmt_bytes(usage.free)} free of "
        f"{_fmt_bytes(usage.total)})",
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


def _say(message: str) -> None:
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
    _say(f"build {label}: workers={config.workers}, out={config.out}")
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
    _say(f"build {label}: {wall:.1f} s (+{sync:.1f} s sync), {len(errors)} failed jobs")
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
            _say(f"kept {run}")
        else:
            shutil.rmtree(run, ignore_errors=True)
            if made:
                with contextlib.suppress(OSError):
                    out.rmdir()


def _config(args: argparse.Namespace, root: Path, out: Path, **over: Any) -> BuildConfig:
    shard = args.shard_seconds if args.shard_seconds is not None else 60.0
    base = BuildConfig(
        dsec_root=root,
        out=out,
        durations=args.durations or DEFAULT_DURATIONS,
        components=args.components or COMPONENTS,
        workers=args.workers or 1,
        video=VideoOptions(mode=args.mp4_mode),
        shard_seconds=shard or None,
    )
    return replace(base, **over)


def _plans(args: argparse.Namespace, count: int, seconds: float, rate: float) -> list[SeqPlan]:
    sample = _sample_dir(args) if args.replay_real else None
    return [
        SeqPlan(f"bench_{i:02d}", i, seconds, rate, args.frame_size, args.seed + i, sample)
        for i in range(count)
    ]


def _sample_dir(args: argparse.Namespace) -> Path:
    from egpt_dsec.synth.real import REAL_SAMPLE_DIR

    return Path(args.real_sample) if args.real_sample else REAL_SAMPLE_DIR


def _data_line(args: argparse.Namespace, plans: Sequence[SeqPlan], synth_s: float) -> str:
    cache = (
        "left in the page cache (--warm-input)"
        if args.warm_input
        else "evicted from the page cache before each build"
    )
    if args.replay_real:
        from egpt_dsec.synth.real import load_windows, replay_rate

        rate = replay_rate(load_windows(_sample_dir(args)))
        kind = f"real DSEC sample replayed at its own rate ({rate / 1e6:.2f} M ev/s)"
    else:
        kind = f"synthetic events at {plans[0].rate / 1e6:g} M ev/s"
    seconds = " + ".join(f"{p.seconds:g}" for p in plans)
    w, h = plans[0].frame_size
    return (
        f"- input: {len(plans)} sequence(s) of {seconds} s, {kind}, {w}x{h} frames at 20 Hz "
        f"(written in {synth_s:.1f} s, {cache})"
    )


def _build_line(config: BuildConfig) -> str:
    shard = "whole sequences" if config.shard_seconds is None else f"{config.shard_seconds:g} s"
    durations = ",".join(d.label for d in config.durations)
    return (
        f"- build: workers {config.workers}, durations {durations}"
        f", components {','.join(config.components)}, mp4 mode {config.video.mode}, "
        f"shards {shard}"
    )


def _after_line(runs: Sequence[BuildRun]) -> str:
    loads = "; ".join(f"{r.label} {', '.join(f'{v:.2f}' for v in r.load)}" for r in runs)
    return f"- load average after each build: {loads}"


def _check_errors(runs: Sequence[BuildRun]) -> int:
    bad = [e for r in runs for e in r.errors]
    for error in bad:
        print(f"FAILED JOB: {error}", file=sys.stderr)
    return 1 if bad else 0


# ---------------------------------------------------------------------------
# The default mode: one full build


def full_table(run: BuildRun, disk: DiskSpeed) -> Table:
    """The one table of a full build."""
    s, c = run.stats, run.config
    src_events, src_frames = s.events_in_sequence, s.frames_in_sequence
    table = Table("metric", "value", "ratio / target")
    table.section("throughput")
    table.add(
        "events/s decoded from HDF5 (events_decoded / read_events)",
        _fmt_rate(_div(s.events_decoded, run.stage("read_events")), "ev"),
    )
    npy_bytes = s.bytes_written.get("event_npy", 0)
    npy_rate = _div(npy_bytes, run.stage("write_npy"))
    table.add(
        "events/s written as npy (events_in_clips / write_npy)",
        _fmt_rate(_div(s.events_in_clips, run.stage("write_npy")), "ev"),
        f"{_fmt_rate(npy_rate, 'B')} = {npy_rate / disk.best:.2f}x disk speed" if npy_rate else "",
    )
    if c.wants("event_image"):
        render = _div(s.events_in_clips, run.stage("render"))
        table.add(
            "events/s rendered (events_in_clips / render), per core",
            _fmt_rate(render, "ev"),
            f"{render / RENDER_TARGET:.2f}x of 200 M/s: {_verdict(render >= RENDER_TARGET)}"
            if render
            else "",
        )
        table.add(
            "event images/s written (images_written / write_png)",
            _fmt_rate(_div(s.images_written, run.stage("write_png")), "img"),
        )
    if c.wants("mp4"):
        table.add(
            "frames/s decoded (frames_decoded / decode_frames)",
            _fmt_rate(_div(s.frames_decoded, run.stage("decode_frames")), "fr"),
        )
        table.add(
            "frames/s encoded (frames_encoded / encode_mp4)",
            _fmt_rate(_div(s.frames_encoded, run.stage("encode_mp4")), "fr"),
        )
    table.add(
        "whole build: source events / wall",
        _fmt_rate(_div(src_events, run.wall), "ev"),
        f"{_fmt_rate(_div(src_events, run.wall_sync), 'ev')} with wall+sync",
    )
    table.section("wall time per stage (summed over jobs)")
    stage_sum = sum(s.stage_seconds.values())
    for name in STAGES:
        seconds = run.stage(name)
        if not seconds:
            continue  # a stage of a component not built
        table.add(
            name, _fmt_s(seconds), f"{seconds / stage_sum:.1%} of stage time" if stage_sum else ""
        )
    table.add("all stages", _fmt_s(stage_sum), f"{stage_sum / run.wall:.1%} of wall")
    if c.workers == 1:
        table.add(
            "not in a stage (planning, manifest, JSON, commits)",
            _fmt_s(run.wall - stage_sum),
            f"{(run.wall - stage_sum) / run.wall:.1%} of wall",
        )
    table.add("wall (build() call)", _fmt_s(run.wall))
    table.add(
        "wall+sync (until the output is on disk)",
        _fmt_s(run.wall_sync),
        f"sync after build {run.sync:.2f} s",
    )
    table.section("decode counters")
    table.add("source events (events_in_sequence)", f"{src_events:,}")
    table.add("source frames (frames_in_sequence)", f"{src_frames:,}")
    table.add("clips built / empty", f"{s.clips_built:,} / {s.clips_empty:,}", f"{run.jobs} job(s)")
    table.add(
        "event copies in clips (events_in_clips)",
        f"{s.events_in_clips:,}",
        f"{s.events_in_clips / src_events:.2f} per source event" if src_events else "",
    )
    table.add(
        "events decoded per source event",
        f"{s.events_decoded:,}",
        _once(_div(s.events_decoded, src_events)),
    )
    if c.wants("mp4"):
        table.add(
            "frame PNG decodes per source frame",
            f"{s.frames_decoded:,}",
            _once(_div(s.frames_decoded, src_frames)),
        )
        encoded = _div(s.frames_encoded, src_frames)
        table.add(
            f"frames encoded per source frame ({c.video.mode})",
            f"{s.frames_encoded:,}",
            _once(encoded) if c.video.mode == "remux" else f"{encoded or 0:.2f} (encode mode)",
        )
    table.section("memory and bytes")
    note = (
        "in-process: includes the driver" if c.workers == 1 or run.jobs == 1 else "max over workers"
    )
    table.add("peak RSS per worker", _fmt_bytes(run.peak_rss), note)
    counted = sum(s.bytes_written.values())
    for component, size in sorted(s.bytes_written.items()):
        table.add(f"bytes written: {component}", _fmt_bytes(size), f"{size / counted:.1%}")
    table.add("bytes written: all components", _fmt_bytes(counted), f"{s.files_written:,} files")
    table.add(
        "bytes under OUT (walk, single-link files)",
        _fmt_bytes(run.out_bytes),
        "incl. JSON and manifest; frame hard links cost none",
    )
    _floor_rows(table, run, disk)
    return table


def _floor_rows(table: Table, run: BuildRun, disk: DiskSpeed) -> None:
    floor = run.out_bytes / disk.best
    slow_floor = run.out_bytes / min(disk.before, disk.after)
    table.section("disk floor")
    table.add(
        "sequential write speed of the output disk (before / after the build)",
        f"{_fmt_rate(disk.before, 'B')} / {_fmt_rate(disk.after, 'B')}",
        "4 files at once, 8 MiB blocks, fsync; the verdict uses the faster (stricter floor)",
    )
    table.add(
        "disk floor = bytes under OUT / write speed",
        _fmt_s(floor),
        f"{_fmt_s(slow_floor)} at the slower speed",
    )
    ratio = run.wall_sync / floor
    table.add(
        "wall+sync / floor",
        f"{ratio:.2f}x",
        f"target <= {FLOOR_TARGET}x: {_verdict(ratio <= FLOOR_TARGET)}; "
        f"{run.wall_sync / slow_floor:.2f}x at the slower speed; "
        f"build() alone {run.wall / floor:.2f}x",
    )


def _mode_full(bench: Bench) -> int:
    args, work = bench.args, bench.work
    seconds = args.seconds or 20.0
    rate = args.rate or 5e6
    plans = _plans(args, 1, seconds, rate)
    root = work / "dsec"
    _say(f"synthesizing {len(plans)} sequence(s) of {seconds:g} s")
    synth_s = synthesize(root, plans)
    _say("measuring the disk")
    before = disk_write_speed(work, args.disk_gib)
    run = run_build("full", _config(args, root, work / "out"), args)
    disk = DiskSpeed(before, disk_write_speed(work, args.disk_gib))
    print(_header(bench, "full build", plans, synth_s, [run]))
    print(full_table(run, disk).markdown())
    return _check_errors([run])


def _header(
    bench: Bench, title: str, plans: Sequence[SeqPlan], synth_s: float, runs: Sequence[BuildRun]
) -> str:
    lines = [f"### egpt-dsec bench: {title}", "", *bench.facts]
    lines += [_data_line(bench.args, plans, synth_s), _build_line(runs[0].config)]
    lines += [_after_line(runs), f"- options: {' '.join(bench.argv) or '(defaults)'}"]
    for run in runs:
        if run.errors:
            lines.append(
                f"- **{run.label}: {len(run.errors)} job(s) FAILED, its numbers cover less "
                f"work**: " + "; ".join(e[:160] for e in run.errors)
            )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# --mp4-compare


def _mode_mp4(bench: Bench) -> int:
    args, work = bench.args, bench.work
    plans = _plans(args, 1, args.seconds or 20.0, args.rate or 2e5)
    root = work / "dsec"
    synth_s = synthesize(root, plans)
    runs = []
    for video in (VideoOptions(mode="remux"), VideoOptions(mode="encode")):
        out = work / f"out-{video.mode}"
        runs.append(
            run_build(
                video.mode,
                _config(args, root, out, components=("mp4",), video=video),
                args,
            )
        )
    remux, encode = runs
    table = Table("metric", "remux", "encode", "encode / remux")

    def row(name: str, get: Callable[[BuildRun], float], fmt: Callable[[float], str]) -> None:
        a, b = get(remux), get(encode)
        table.add(name, fmt(a), fmt(b), f"{b / a:.2f}x" if a else "-")

    frames = remux.stats.frames_in_sequence
    table.add("source frames", f"{frames:,}", f"{encode.stats.frames_in_sequence:,}")
    row(
        "frame PNG decodes per source frame",
        lambda r: r.stats.frames_decoded / frames,
        "{:.3f}".format,
    )
    row(
        "frames encoded per source frame",
        lambda r: r.stats.frames_encoded / frames,
        "{:.3f}".format,
    )
    table.add(
        "remux target: 1 frame encoded per input frame",
        _verdict(abs(remux.stats.frames_encoded / frames - 1) <= ONCE_TOLERANCE),
    )
    row("MP4 files", lambda r: r.stats.files_written, "{:,.0f}".format)
    row("MP4 bytes", lambda r: r.stats.bytes_written.get("mp4", 0), _fmt_bytes)
    row(
        "MP4 bytes per clip",
        lambda r: (
            r.stats.bytes_written.get("mp4", 0) / max(1, r.stats.clips_built - r.stats.clips_empty)
        ),
        _fmt_bytes,
    )
    for stage in ("decode_frames", "encode_mp4", "remux_mp4"):
        row(f"{stage} seconds", partial(BuildRun.stage, name=stage), _fmt_s)
    row(
        "frames/s encoded",
        lambda r: _div(r.stats.frames_encoded, r.stage("encode_mp4")) or 0,
        "{:,.1f}".format,
    )
    row("wall", lambda r: r.wall, _fmt_s)
    row("peak RSS", lambda r: r.peak_rss, _fmt_bytes)
    print(_header(bench, "MP4 remux vs encode", plans, synth_s, runs))
    print(table.markdown())
    return _check_errors(runs)


# ---------------------------------------------------------------------------
# --scaling


def _mode_scaling(bench: Bench) -> int:
    args, work = bench.args, bench.work
    plans = _plans(args, 2, args.seconds or 10.0, args.rate or 5e6)
    root = work / "dsec"
    _say("synthesizing two sequences")
    synth_s = synthesize(root, plans)
    many = args.workers if args.workers and args.workers > 1 else 2
    components = args.components or ("event_npy", "event_image")
    capacity_before = cpu_capacity(many)
    runs = []
    for workers in (1, many):
        out = work / f"out-{workers}w"
        runs.append(
            run_build(
                f"{workers}w",
                _config(args, root, out, components=components, workers=workers),
                args,
            )
        )
        shutil.rmtree(out, ignore_errors=True)  # keep disk use to one build at a time
    one, two = runs
    capacity = (capacity_before, cpu_capacity(many))
    table = Table("metric", "1 worker", f"{many} workers", "ratio")
    table.add(
        f"CPU probe: cores {many} busy processes get (before / after the builds)",
        "1",
        " / ".join(f"{c:.2f}" for c in capacity),
        f"the speedup the machine allowed at the time (ideal {many}.00)",
    )
    src = one.stats.events_in_sequence
    speedup = one.wall / two.wall
    speedup_sync = one.wall_sync / two.wall_sync
    table.add(
        "whole build: source events / wall",
        _fmt_rate(src / one.wall, "ev"),
        _fmt_rate(src / two.wall, "ev"),
        f"{speedup:.2f}x (target >= {SCALING_TARGET}x: {_verdict(speedup >= SCALING_TARGET)})",
    )
    table.add(
        "same, wall+sync",
        _fmt_rate(src / one.wall_sync, "ev"),
        _fmt_rate(src / two.wall_sync, "ev"),
        f"{speedup_sync:.2f}x",
    )
    table.add("wall", _fmt_s(one.wall), _fmt_s(two.wall), f"{two.wall / one.wall:.2f}")
    table.add(
        "wall+sync",
        _fmt_s(one.wall_sync),
        _fmt_s(two.wall_sync),
        f"{two.wall_sync / one.wall_sync:.2f}",
    )
    table.add(
        "job seconds (each)",
        ", ".join(f"{s:.1f}" for s in one.job_seconds),
        ", ".join(f"{s:.1f}" for s in two.job_seconds),
    )
    table.section("stage seconds summed over workers (ratio 1.00 = no slowdown per worker)")
    for name in STAGES:
        a, b = one.stage(name), two.stage(name)
        if a or b:
            ratio = f"{b / a:.2f} → stage speedup {many * a / b:.2f}x" if a and b else "-"
            table.add(name, _fmt_s(a), _fmt_s(b), ratio)
    total_a, total_b = sum(one.stats.stage_seconds.values()), sum(two.stats.stage_seconds.values())
    table.add("all stages", _fmt_s(total_a), _fmt_s(total_b), f"{total_b / total_a:.2f}")
    cpu_a = one.stage("read_events") + one.stage("render") + one.stage("write_png")
    cpu_b = two.stage("read_events") + two.stage("render") + two.stage("write_png")
    table.add(
        "CPU-bound stages (read_events + render + write_png)",
        _fmt_s(cpu_a),
        _fmt_s(cpu_b),
        f"implied speedup {many * cpu_a / cpu_b:.2f}x" if cpu_b else "-",
    )
    table.add(
        "peak RSS per worker",
        _fmt_bytes(one.peak_rss),
        _fmt_bytes(two.peak_rss),
        "1 worker = in-process, incl. driver",
    )
    table.add(
        "events decoded per source event",
        f"{one.stats.events_decoded / src:.4f}",
        f"{two.stats.events_decoded / src:.4f}",
    )
    table.add("bytes under OUT", _fmt_bytes(one.out_bytes), _fmt_bytes(two.out_bytes))
    print(_header(bench, f"scaling, 1 vs {many} workers", plans, synth_s, runs))
    print(table.markdown())
    return _check_errors(runs)


# ---------------------------------------------------------------------------
# --big-clip


def _mode_big_clip(bench: Bench) -> int:
    args, work = bench.args, bench.work
    free = shutil.disk_usage(work).free
    if free < BIG_CLIP_FREE:
        print(
            f"--big-clip skipped: {_fmt_bytes(free)} free on {work}, it needs "
            f"{_fmt_bytes(BIG_CLIP_FREE)} (about 1.2 GB input, 5.3 GB clip, disk test)"
        )
        return 0
    plans = _plans(args, 1, args.seconds or 16.2, args.rate or 25e6)
    root = work / "dsec"
    _say(f"synthesizing {plans[0].seconds:g} s at {plans[0].rate:g} ev/s (a minute or two)")
    synth_s = synthesize(root, plans)
    _say("measuring the disk")
    before = disk_write_speed(work, args.disk_gib)
    durations = args.durations or (Duration.parse("16s"),)
    config = _config(
        args, root, work / "out", durations=durations, components=args.components or ("event_npy",)
    )
    run = run_build("big-clip", config, args)
    disk = DiskSpeed(before, disk_write_speed(work, args.disk_gib))
    s = run.stats
    table = Table("metric", "value", "ratio / target")
    table.add("clips built", f"{s.clips_built:,}")
    table.add(
        "events in the clip(s)",
        f"{s.events_in_clips:,}",
        f"{s.events_in_clips / 400e6:.2f}x of 400M",
    )
    table.add(
        "peak RSS (in-process build, incl. driver)",
        _fmt_bytes(run.peak_rss),
        f"target < 2 GB: {_verdict(run.peak_rss < RSS_TARGET)}",
    )
    npy = s.bytes_written.get("event_npy", 0)
    table.add("npy bytes", _fmt_bytes(npy))
    npy_rate = _div(npy, run.stage("write_npy"))
    table.add(
        "npy write speed (bytes / write_npy)",
        _fmt_rate(npy_rate, "B"),
        f"{npy_rate / disk.best:.2f}x disk speed" if npy_rate else "",
    )
    table.add(
        "npy events/s (events_in_clips / write_npy)",
        _fmt_rate(_div(s.events_in_clips, run.stage("write_npy")), "ev"),
    )
    table.add(
        "events/s decoded (events_decoded / read_events)",
        _fmt_rate(_div(s.events_decoded, run.stage("read_events")), "ev"),
    )
    table.add(
        "events decoded per source event",
        f"{s.events_decoded:,}",
        _once(_div(s.events_decoded, s.events_in_sequence)),
    )
    for name in STAGES:
        if run.stage(name):
            table.add(f"{name} seconds", _fmt_s(run.stage(name)))
    table.add("wall", _fmt_s(run.wall))
    table.add("wall+sync", _fmt_s(run.wall_sync), f"sync after build {run.sync:.2f} s")
    _floor_rows(table, run, disk)
    print(_header(bench, "one big clip", plans, synth_s, [run]))
    print(table.markdown())
    return _check_errors([run])


# ---------------------------------------------------------------------------
# --skew


def _mode_skew(bench: Bench) -> int:
    args, work = bench.args, bench.work
    long_s, rate = args.seconds or 60.0, args.rate or 1e6
    sample = _sample_dir(args) if args.replay_real else None
    plans = [SeqPlan("long_00", 0, long_s, rate, args.frame_size, args.seed, sample)]
    plans += [
        SeqPlan(f"short_{i:02d}", i, 8.0, rate, args.frame_size, args.seed + i, sample)
        for i in range(1, 5)
    ]
    root = work / "dsec"
    _say("synthesizing the skewed set")
    synth_s = synthesize(root, plans)
    workers = args.workers or 2
    shard = args.shard_seconds or 10.0
    components = args.components or ("event_npy", "event_image")
    runs = []
    for label, seconds in (("whole", None), (f"{shard:g}s-shards", shard)):
        out = work / f"out-{label}"
        config = _config(
            args, root, out, workers=workers, components=components, shard_seconds=seconds
        )
        runs.append(run_build(label, config, args))
        shutil.rmtree(out, ignore_errors=True)
    whole, sharded = runs
    src = whole.stats.events_in_sequence  # whole sequences: exact, no overlap
    extra = (sharded.stats.events_decoded - whole.stats.events_decoded) / src
    table = Table("metric", "whole sequences", f"{shard:g} s shards", "ratio")
    table.add("jobs", f"{whole.jobs}", f"{sharded.jobs}")
    table.add(
        "wall",
        _fmt_s(whole.wall),
        _fmt_s(sharded.wall),
        f"shards {whole.wall / sharded.wall:.2f}x faster",
    )
    table.add(
        "wall+sync",
        _fmt_s(whole.wall_sync),
        _fmt_s(sharded.wall_sync),
        f"{whole.wall_sync / sharded.wall_sync:.2f}x",
    )
    table.add(
        "longest job",
        _fmt_s(max(whole.job_seconds)),
        _fmt_s(max(sharded.job_seconds)),
        f"sum of jobs {sum(whole.job_seconds):.1f} s vs {sum(sharded.job_seconds):.1f} s",
    )
    table.add(
        "events decoded per source event",
        f"{whole.stats.events_decoded / src:.4f}",
        f"{sharded.stats.events_decoded / src:.4f}",
        f"extra by shard borders: {extra:.2%}",
    )
    table.add(
        "events_in_sequence summed over jobs / source events",
        "1.0000",
        f"{sharded.stats.events_in_sequence / src:.4f}",
        "shards overlap: their counters double-count border events",
    )
    frames = whole.stats.frames_in_sequence
    if whole.stats.frames_decoded and frames:
        table.add(
            "frame PNG decodes per source frame",
            f"{whole.stats.frames_decoded / frames:.4f}",
            f"{sharded.stats.frames_decoded / frames:.4f}",
        )
    table.add("clips built", f"{whole.stats.clips_built:,}", f"{sharded.stats.clips_built:,}")
    table.add("bytes under OUT", _fmt_bytes(whole.out_bytes), _fmt_bytes(sharded.out_bytes))
    table.add("peak RSS per worker", _fmt_bytes(whole.peak_rss), _fmt_bytes(sharded.peak_rss))
    print(_header(bench, f"skew, {workers} workers: whole vs shards", plans, synth_s, runs))
    print(table.markdown())
    return _check_errors(runs)


# ---------------------------------------------------------------------------


def run_bench(args: argparse.Namespace) -> int:
    """Run the benchmark mode chosen in ``args``; prints facts and one markdown table."""
    if args.workers is not None and args.workers < 1:
        print("error: --workers must be >= 1", file=sys.stderr)
        return 2
    if args.replay_real and (args.big_clip or args.rate is not None):
        print(
            "note: --replay-real replays the sample at its own rate; --rate is ignored",
            file=sys.stderr,
        )
    if args.replay_real and args.big_clip:
        print(
            "error: --big-clip needs a synthetic 25 M ev/s stream, not --replay-real",
            file=sys.stderr,
        )
        return 2
    mode = _mode_full
    if args.mp4_compare:
        mode = _mode_mp4
    elif args.scaling:
        mode = _mode_scaling
    elif args.big_clip:
        mode = _mode_big_clip
    elif args.skew:
        mode = _mode_skew
    with scratch(args.out, args.keep) as work:
        return mode(Bench(args, work, machine_facts(work), sys.argv[1:]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="egpt-dsec bench", description=__doc__)
    add_bench_arguments(parser)
    return run_bench(parser.parse_args(argv))
