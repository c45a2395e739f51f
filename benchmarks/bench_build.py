"""``make bench``: how fast a build runs, stage by stage, against the speed of its disk.

Synthesizes a DSEC root at a real event rate (or replays the real event sample), builds
it, and prints the machine facts and ONE markdown table: per-stage rates and wall times,
decode counters (each event and frame decoded once?), peak RSS, bytes per component, and
the disk floor (bytes written / the sequential write speed measured in the same run).

Modes: the default full build, ``--mixed`` and ``--one-long`` (``bench_mixed``: the
held-out-like input against max(disk floor, CPU floor); its long sequence on 1 vs 2
workers), ``--mp4-compare`` (remux vs encode), ``--scaling`` (1 vs 2 workers),
``--big-clip`` (one ~400M-event 16 s clip), ``--skew`` (whole sequences vs time shards
on a skewed set), ``--alignment`` (``bench_aligned_build``: the cost of the alignment
options). Every build runs in a fresh spawned process, so its peak
RSS is its own; input files are flushed and evicted from the page cache before each
build, and ``wall+sync`` adds the time to flush what the build left in the page cache.
Units are decimal: MB = 1e6 bytes, GB = 1e9 bytes, M = 1e6.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from bench_aligned_build import mode_alignment
from bench_input import SeqPlan, data_line, sample_dir, seq_plans, synthesize
from bench_mixed import mode_mixed, mode_one_long
from bench_runs import (
    Bench,
    BuildRun,
    after_line,
    bench_config,
    build_line,
    check_errors,
    run_build,
    scratch,
)
from benchkit import (
    BIG_CLIP_FREE,
    FLOOR_TARGET,
    ONCE_TOLERANCE,
    RENDER_TARGET,
    RSS_TARGET,
    SCALING_TARGET,
    STAGES,
    DiskSpeed,
    Table,
    cpu_capacity,
    disk_write_speed,
    div,
    fmt_bytes,
    fmt_rate,
    fmt_s,
    machine_facts,
    once,
    say,
    verdict,
)
from egpt_dsec import argtypes
from egpt_dsec.durations import DEFAULT_DURATIONS, Duration
from egpt_dsec.kinds import DEFAULT_COMPONENTS
from egpt_dsec.kinds.event_tensor import TensorOptions
from egpt_dsec.kinds.mp4 import MP4_MODES, Mp4Options
from egpt_dsec.render.tensor_spec import parse_tensor_specs

# ---------------------------------------------------------------------------
# Arguments


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the build benchmark."""
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
        help="(the default build's: " + ",".join(DEFAULT_COMPONENTS) + "; scaling and skew "
        "event_npy,event_image; "
        "big-clip event_npy)",
    )
    build.add_argument("--mp4-mode", choices=MP4_MODES, default="remux", help="(remux)")
    build.add_argument(
        "--tensors",
        default="voxel:5",
        help="the full build is run again with these event tensors and their cost reported "
        "next to it; none to skip (voxel:5)",
    )
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
        "--mixed",
        action="store_true",
        help="two real-pattern sequences (20 s at 1.9 M ev/s, 1440x1080; 12 s at 1.4 M ev/s, "
        "640x480), all components, npy and ref builds against the disk and CPU floors",
    )
    modes.add_argument(
        "--one-long",
        action="store_true",
        help="the long sequence of --mixed alone, npy and ref, 1 vs 2 workers",
    )
    modes.add_argument(
        "--alignment",
        action="store_true",
        help="the long sequence of --mixed: default, --rectify-events, --frames-view event, both",
    )
    modes.add_argument(
        "--skew",
        action="store_true",
        help="one long + four 8 s sequences, 2 workers: whole sequences vs 10 s shards",
    )


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
        fmt_rate(div(s.events_decoded, run.stage("read_events")), "ev"),
    )
    npy_bytes = s.bytes_written.get("event_npy", 0)
    npy_rate = div(npy_bytes, run.stage("write_npy"))
    table.add(
        "events/s written as npy (events_in_clips / write_npy)",
        fmt_rate(div(s.events_in_clips, run.stage("write_npy")), "ev"),
        f"{fmt_rate(npy_rate, 'B')} = {npy_rate / disk.best:.2f}x disk speed" if npy_rate else "",
    )
    if c.wants("event_image"):
        render = div(s.events_in_clips, run.stage("render"))
        table.add(
            "events/s rendered (events_in_clips / render), per core",
            fmt_rate(render, "ev"),
            f"{render / RENDER_TARGET:.2f}x of 200 M/s: {verdict(render >= RENDER_TARGET)}"
            if render
            else "",
        )
        table.add(
            "event images/s written (images_written / write_png)",
            fmt_rate(div(s.images_written, run.stage("write_png")), "img"),
        )
    if c.wants("mp4"):
        table.add(
            "frames/s decoded (frames_decoded / decode_frames)",
            fmt_rate(div(s.frames_decoded, run.stage("decode_frames")), "fr"),
        )
        table.add(
            "frames/s encoded (frames_encoded / encode_mp4)",
            fmt_rate(div(s.frames_encoded, run.stage("encode_mp4")), "fr"),
        )
    table.add(
        "whole build: source events / wall",
        fmt_rate(div(src_events, run.wall), "ev"),
        f"{fmt_rate(div(src_events, run.wall_sync), 'ev')} with wall+sync",
    )
    table.section("wall time per stage (summed over jobs)")
    stage_sum = sum(s.stage_seconds.values())
    for name in STAGES:
        seconds = run.stage(name)
        if not seconds:
            continue  # a stage of a component not built
        table.add(
            name, fmt_s(seconds), f"{seconds / stage_sum:.1%} of stage time" if stage_sum else ""
        )
    table.add("all stages", fmt_s(stage_sum), f"{stage_sum / run.wall:.1%} of wall")
    if c.workers == 1:
        table.add(
            "not in a stage (planning, manifest, JSON, commits)",
            fmt_s(run.wall - stage_sum),
            f"{(run.wall - stage_sum) / run.wall:.1%} of wall",
        )
    table.add("wall (build() call)", fmt_s(run.wall))
    table.add(
        "wall+sync (until the output is on disk)",
        fmt_s(run.wall_sync),
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
        once(div(s.events_decoded, src_events)),
    )
    if c.wants("mp4"):
        table.add(
            "frame PNG decodes per source frame",
            f"{s.frames_decoded:,}",
            once(div(s.frames_decoded, src_frames)),
        )
        encoded = div(s.frames_encoded, src_frames)
        table.add(
            f"frames encoded per source frame ({c.mp4.mode})",
            f"{s.frames_encoded:,}",
            once(encoded) if c.mp4.mode == "remux" else f"{encoded or 0:.2f} (encode mode)",
        )
    table.section("memory and bytes")
    note = (
        "in-process: includes the driver" if c.workers == 1 or run.jobs == 1 else "max over workers"
    )
    table.add("peak RSS per worker", fmt_bytes(run.peak_rss), note)
    counted = sum(s.bytes_written.values())
    for component, size in sorted(s.bytes_written.items()):
        table.add(f"bytes written: {component}", fmt_bytes(size), f"{size / counted:.1%}")
    table.add("bytes written: all components", fmt_bytes(counted), f"{s.files_written:,} files")
    table.add(
        "bytes under OUT (walk, single-link files)",
        fmt_bytes(run.out_bytes),
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
        f"{fmt_rate(disk.before, 'B')} / {fmt_rate(disk.after, 'B')}",
        "4 files at once, 8 MiB blocks, fsync; the verdict uses the faster (stricter floor)",
    )
    table.add(
        "disk floor = bytes under OUT / write speed",
        fmt_s(floor),
        f"{fmt_s(slow_floor)} at the slower speed",
    )
    ratio = run.wall_sync / floor
    table.add(
        "wall+sync / floor",
        f"{ratio:.2f}x",
        f"target <= {FLOOR_TARGET}x: {verdict(ratio <= FLOOR_TARGET)}; "
        f"{run.wall_sync / slow_floor:.2f}x at the slower speed; "
        f"build() alone {run.wall / floor:.2f}x",
    )


def _mode_full(bench: Bench) -> int:
    args, work = bench.args, bench.work
    seconds = args.seconds or 20.0
    rate = args.rate or 5e6
    plans = seq_plans(args, 1, seconds, rate)
    root = work / "dsec"
    say(f"synthesizing {len(plans)} sequence(s) of {seconds:g} s")
    synth_s = synthesize(root, plans)
    say("measuring the disk")
    before = disk_write_speed(work, args.disk_gib)
    run = run_build("full", bench_config(args, root, work / "out"), args)
    runs = [run]
    if args.tensors != "none":
        options = TensorOptions(parse_tensor_specs(args.tensors))
        tensors = bench_config(args, root, work / "out-tensors", event_tensor=options)
        runs.append(run_build(f"full + --tensors {args.tensors}", tensors, args))
    disk = DiskSpeed(before, disk_write_speed(work, args.disk_gib))
    print(_header(bench, "full build", plans, synth_s, runs))
    table = full_table(run, disk)
    if len(runs) > 1:
        _tensor_rows(table, run, runs[1], args.tensors)
    print(table.markdown())
    return check_errors(runs)


def _tensor_rows(table: Table, base: BuildRun, run: BuildRun, specs: str) -> None:
    """The cost of the event tensors: the same build again with ``--tensors``."""
    s = run.stats
    table.section(f"the same build with --tensors {specs}")
    tensor_bytes = s.bytes_written.get("event_tensor", 0)
    table.add(
        "wall+sync (until the output is on disk)",
        fmt_s(run.wall_sync),
        f"{run.wall_sync / base.wall_sync:.2f}x the build without tensors",
    )
    table.add(
        "events/s accumulated (events_in_clips / tensors), per core",
        fmt_rate(div(s.events_in_clips, run.stage("tensors")), "ev"),
        f"{run.stage('tensors'):.2f} s of stage time",
    )
    table.add(
        "bytes written: event_tensor",
        fmt_bytes(tensor_bytes),
        f"+{tensor_bytes / max(sum(base.stats.bytes_written.values()), 1):.1%} of the build",
    )
    table.add("peak RSS per worker", fmt_bytes(run.peak_rss), f"{fmt_bytes(base.peak_rss)} without")


def _header(
    bench: Bench, title: str, plans: Sequence[SeqPlan], synth_s: float, runs: Sequence[BuildRun]
) -> str:
    lines = [f"### make bench: {title}", "", *bench.facts]
    lines += [data_line(bench.args, plans, synth_s), build_line(runs[0].config)]
    lines += [after_line(runs), f"- options: {' '.join(bench.argv) or '(defaults)'}"]
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
    plans = seq_plans(args, 1, args.seconds or 20.0, args.rate or 2e5)
    root = work / "dsec"
    synth_s = synthesize(root, plans)
    runs = []
    for video in (Mp4Options(mode="remux"), Mp4Options(mode="encode")):
        out = work / f"out-{video.mode}"
        runs.append(
            run_build(
                video.mode,
                bench_config(args, root, out, components=("mp4",), mp4=video),
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
        verdict(abs(remux.stats.frames_encoded / frames - 1) <= ONCE_TOLERANCE),
    )
    row("MP4 files", lambda r: r.stats.files_written, "{:,.0f}".format)
    row("MP4 bytes", lambda r: r.stats.bytes_written.get("mp4", 0), fmt_bytes)
    row(
        "MP4 bytes per clip",
        lambda r: (
            r.stats.bytes_written.get("mp4", 0) / max(1, r.stats.clips_built - r.stats.clips_empty)
        ),
        fmt_bytes,
    )
    for stage in ("decode_frames", "encode_mp4", "remux_mp4"):
        row(f"{stage} seconds", partial(BuildRun.stage, name=stage), fmt_s)
    row(
        "frames/s encoded",
        lambda r: div(r.stats.frames_encoded, r.stage("encode_mp4")) or 0,
        "{:,.1f}".format,
    )
    row("wall", lambda r: r.wall, fmt_s)
    row("peak RSS", lambda r: r.peak_rss, fmt_bytes)
    print(_header(bench, "MP4 remux vs encode", plans, synth_s, runs))
    print(table.markdown())
    return check_errors(runs)


# ---------------------------------------------------------------------------
# --scaling


def _mode_scaling(bench: Bench) -> int:
    args, work = bench.args, bench.work
    plans = seq_plans(args, 2, args.seconds or 10.0, args.rate or 5e6)
    root = work / "dsec"
    say("synthesizing two sequences")
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
                bench_config(args, root, out, components=components, workers=workers),
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
        fmt_rate(src / one.wall, "ev"),
        fmt_rate(src / two.wall, "ev"),
        f"{speedup:.2f}x (target >= {SCALING_TARGET}x: {verdict(speedup >= SCALING_TARGET)})",
    )
    table.add(
        "same, wall+sync",
        fmt_rate(src / one.wall_sync, "ev"),
        fmt_rate(src / two.wall_sync, "ev"),
        f"{speedup_sync:.2f}x",
    )
    table.add("wall", fmt_s(one.wall), fmt_s(two.wall), f"{two.wall / one.wall:.2f}")
    table.add(
        "wall+sync",
        fmt_s(one.wall_sync),
        fmt_s(two.wall_sync),
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
            table.add(name, fmt_s(a), fmt_s(b), ratio)
    total_a, total_b = sum(one.stats.stage_seconds.values()), sum(two.stats.stage_seconds.values())
    table.add("all stages", fmt_s(total_a), fmt_s(total_b), f"{total_b / total_a:.2f}")
    cpu_a = one.stage("read_events") + one.stage("render") + one.stage("write_png")
    cpu_b = two.stage("read_events") + two.stage("render") + two.stage("write_png")
    table.add(
        "CPU-bound stages (read_events + render + write_png)",
        fmt_s(cpu_a),
        fmt_s(cpu_b),
        f"implied speedup {many * cpu_a / cpu_b:.2f}x" if cpu_b else "-",
    )
    table.add(
        "peak RSS per worker",
        fmt_bytes(one.peak_rss),
        fmt_bytes(two.peak_rss),
        "1 worker = in-process, incl. driver",
    )
    table.add(
        "events decoded per source event",
        f"{one.stats.events_decoded / src:.4f}",
        f"{two.stats.events_decoded / src:.4f}",
    )
    table.add("bytes under OUT", fmt_bytes(one.out_bytes), fmt_bytes(two.out_bytes))
    print(_header(bench, f"scaling, 1 vs {many} workers", plans, synth_s, runs))
    print(table.markdown())
    return check_errors(runs)


# ---------------------------------------------------------------------------
# --big-clip


def _mode_big_clip(bench: Bench) -> int:
    args, work = bench.args, bench.work
    free = shutil.disk_usage(work).free
    if free < BIG_CLIP_FREE:
        print(
            f"--big-clip skipped: {fmt_bytes(free)} free on {work}, it needs "
            f"{fmt_bytes(BIG_CLIP_FREE)} (about 1.2 GB input, 5.3 GB clip, disk test)"
        )
        return 0
    plans = seq_plans(args, 1, args.seconds or 16.2, args.rate or 25e6)
    root = work / "dsec"
    say(f"synthesizing {plans[0].seconds:g} s at {plans[0].rate:g} ev/s (a minute or two)")
    synth_s = synthesize(root, plans)
    say("measuring the disk")
    before = disk_write_speed(work, args.disk_gib)
    durations = args.durations or (Duration.parse("16s"),)
    config = bench_config(
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
        fmt_bytes(run.peak_rss),
        f"target < 2 GB: {verdict(run.peak_rss < RSS_TARGET)}",
    )
    npy = s.bytes_written.get("event_npy", 0)
    table.add("npy bytes", fmt_bytes(npy))
    npy_rate = div(npy, run.stage("write_npy"))
    table.add(
        "npy write speed (bytes / write_npy)",
        fmt_rate(npy_rate, "B"),
        f"{npy_rate / disk.best:.2f}x disk speed" if npy_rate else "",
    )
    table.add(
        "npy events/s (events_in_clips / write_npy)",
        fmt_rate(div(s.events_in_clips, run.stage("write_npy")), "ev"),
    )
    table.add(
        "events/s decoded (events_decoded / read_events)",
        fmt_rate(div(s.events_decoded, run.stage("read_events")), "ev"),
    )
    table.add(
        "events decoded per source event",
        f"{s.events_decoded:,}",
        once(div(s.events_decoded, s.events_in_sequence)),
    )
    for name in STAGES:
        if run.stage(name):
            table.add(f"{name} seconds", fmt_s(run.stage(name)))
    table.add("wall", fmt_s(run.wall))
    table.add("wall+sync", fmt_s(run.wall_sync), f"sync after build {run.sync:.2f} s")
    _floor_rows(table, run, disk)
    print(_header(bench, "one big clip", plans, synth_s, [run]))
    print(table.markdown())
    return check_errors([run])


# ---------------------------------------------------------------------------
# --skew


def _mode_skew(bench: Bench) -> int:
    args, work = bench.args, bench.work
    long_s, rate = args.seconds or 60.0, args.rate or 1e6
    sample = sample_dir(args) if args.replay_real else None
    plans = [SeqPlan("long_00", 0, long_s, rate, args.frame_size, args.seed, sample)]
    plans += [
        SeqPlan(f"short_{i:02d}", i, 8.0, rate, args.frame_size, args.seed + i, sample)
        for i in range(1, 5)
    ]
    root = work / "dsec"
    say("synthesizing the skewed set")
    synth_s = synthesize(root, plans)
    workers = args.workers or 2
    shard = args.shard_seconds or 10.0
    components = args.components or ("event_npy", "event_image")
    runs = []
    for label, seconds in (("whole", None), (f"{shard:g}s-shards", shard)):
        out = work / f"out-{label}"
        config = bench_config(
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
        fmt_s(whole.wall),
        fmt_s(sharded.wall),
        f"shards {whole.wall / sharded.wall:.2f}x faster",
    )
    table.add(
        "wall+sync",
        fmt_s(whole.wall_sync),
        fmt_s(sharded.wall_sync),
        f"{whole.wall_sync / sharded.wall_sync:.2f}x",
    )
    table.add(
        "longest job",
        fmt_s(max(whole.job_seconds)),
        fmt_s(max(sharded.job_seconds)),
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
    table.add("bytes under OUT", fmt_bytes(whole.out_bytes), fmt_bytes(sharded.out_bytes))
    table.add("peak RSS per worker", fmt_bytes(whole.peak_rss), fmt_bytes(sharded.peak_rss))
    print(_header(bench, f"skew, {workers} workers: whole vs shards", plans, synth_s, runs))
    print(table.markdown())
    return check_errors(runs)


# ---------------------------------------------------------------------------


# The mode flags (argparse dests) and their modes; none given: the full build.
_MODES: dict[str, Callable[[Bench], int]] = {
    "mp4_compare": _mode_mp4,
    "scaling": _mode_scaling,
    "big_clip": _mode_big_clip,
    "skew": _mode_skew,
    "mixed": mode_mixed,
    "one_long": mode_one_long,
    "alignment": mode_alignment,
}


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
    chosen = (mode for flag, mode in _MODES.items() if getattr(args, flag))
    mode = next(chosen, _mode_full)
    with scratch(args.out, args.keep) as work:
        return mode(Bench(args, work, machine_facts(work), sys.argv[1:]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_build.py", description=__doc__)
    add_bench_arguments(parser)
    return run_bench(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
