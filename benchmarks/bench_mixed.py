"""``--mixed`` and ``--one-long``: an input like the held-out root the replaced scripts
were timed on, against the floors of the machine.

The input: two train sequences of real-pattern events (the real DSEC sample stretched
in time to the rate): 20 s at 1.9 M ev/s with 1440x1080 frames and 12 s at 1.4 M ev/s
with 640x480 frames. ``--mixed`` builds it all (8 durations, every component) in the
default npy format and with ``--event-format ref``, and sets each build against
max(disk floor, CPU floor) and against the replaced scripts' 289.5 s on the same kind
of root. ``--one-long`` builds the long sequence alone with 1 and with 2 workers.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from bench_input import SeqPlan, sample_dir, synthesize
from bench_runs import (
    Bench,
    BuildRun,
    after_line,
    bench_config,
    build_line,
    check_errors,
    run_build,
)
from benchkit import (
    DiskSpeed,
    Table,
    cpu_capacity,
    disk_write_speed,
    fmt_bytes,
    fmt_s,
    say,
    verdict,
)
from cpu_floor import CpuFloor, measure_cpu_floor

REPLACED_SCRIPTS_S = 289.5  # extract, images, MP4, JSON on the held-out root (issue 11)
TARGETS = {"npy": 36.0, "ref": 24.0}  # 8x and 12x the replaced scripts
FLOOR_TARGET = 1.25  # wall+sync / max(disk floor, CPU floor)
ONE_LONG_TARGET = 1.7  # 2 workers vs 1 on one sequence


def mixed_input(sample: Path, seed: int) -> list[SeqPlan]:
    """The two sequences of the mixed input, replaying ``sample``."""
    return [
        SeqPlan("long_00", 0, 20.0, 1.9e6, (1440, 1080), seed, sample, stretch=True),
        SeqPlan("short_01", 1, 12.0, 1.4e6, (640, 480), seed + 1, sample, stretch=True),
    ]


def mixed_plans(bench: Bench) -> list[SeqPlan]:
    return mixed_input(sample_dir(bench.args), bench.args.seed)


def _header(
    bench: Bench, title: str, plans: Sequence[SeqPlan], synth_s: float, runs: Sequence[BuildRun]
) -> str:
    seqs = ", ".join(
        f"{p.name} {p.seconds:g} s at {p.rate / 1e6:g} M ev/s with {p.frame_size[0]}x"
        f"{p.frame_size[1]} frames"
        for p in plans
    )
    lines = [f"### make bench: {title}", "", *bench.facts]
    lines += [
        f"- input: {seqs}; real-pattern events (the real DSEC sample stretched in time to "
        f"the rate), synthetic frames at 20 Hz (written in {synth_s:.1f} s, evicted from the "
        "page cache before each build)",
        build_line(runs[0].config),
        after_line(runs),
        f"- options: {' '.join(bench.argv)}",
    ]
    lines += [f"- **{r.label}: {len(r.errors)} job(s) FAILED**" for r in runs if r.errors]
    return "\n".join(lines) + "\n"


def _floor_table(runs: Sequence[BuildRun], floors: Sequence[CpuFloor], disk: DiskSpeed) -> Table:
    table = Table("metric", *(r.label for r in runs))
    table.add("wall (build() call)", *(fmt_s(r.wall) for r in runs))
    table.add("wall+sync (until the output is on disk)", *(fmt_s(r.wall_sync) for r in runs))
    table.add("build process, start to answer (imports too)", *(fmt_s(r.process) for r in runs))
    table.add("bytes under OUT", *(fmt_bytes(r.out_bytes) for r in runs))
    disk_floors = [r.out_bytes / disk.best for r in runs]
    table.add("disk floor = bytes / write speed", *(fmt_s(f) for f in disk_floors))
    table.add(
        f"CPU floor = one-core stage costs / {floors[0].cores} cores",
        *(f"{fmt_s(f.seconds)} ({fmt_s(f.one_core)} on one core)" for f in floors),
    )
    ratios = [
        r.wall_sync / max(d, f.seconds) for r, d, f in zip(runs, disk_floors, floors, strict=True)
    ]
    table.add(
        "wall+sync / max(disk floor, CPU floor)",
        *(f"{x:.2f}x (target <= {FLOOR_TARGET}x: {verdict(x <= FLOOR_TARGET)})" for x in ratios),
    )
    table.add(f"vs the replaced scripts ({REPLACED_SCRIPTS_S} s)", *(_vs_replaced(r) for r in runs))
    table.add(
        "CPU seconds of the jobs' processes (all threads)",
        *(f"{fmt_s(r.stats.cpu_seconds)} = {r.stats.cpu_seconds / r.wall:.2f} cores" for r in runs),
    )
    table.add("peak RSS per worker", *(fmt_bytes(r.peak_rss) for r in runs))
    table.add("job seconds", *(", ".join(f"{s:.1f}" for s in r.job_seconds) for r in runs))
    table.section("stage seconds inside the build, summed over threads")
    stages = sorted({s for r in runs for s in r.stats.stage_seconds})
    for stage in stages:
        table.add(stage, *(fmt_s(r.stage(stage)) for r in runs))
    return table


def _vs_replaced(run: BuildRun) -> str:
    target = TARGETS[run.config.event_format]
    speedup = REPLACED_SCRIPTS_S / run.wall_sync
    return f"{speedup:.1f}x (target <= {target:g} s: {verdict(run.wall_sync <= target)})"


def _cost_table(runs: Sequence[BuildRun], floors: Sequence[CpuFloor]) -> Table:
    """Each stage's one-core cost per unit and in all, as measured after each build."""
    table = Table("stage (one core)", *(f"{r.label}: unit cost, units, seconds" for r in runs))
    names = list(dict.fromkeys(c.stage for f in floors for c in f.costs))
    for name in names:
        cells = []
        for floor in floors:
            cost = next((c for c in floor.costs if c.stage == name), None)
            cells.append(
                "-"
                if cost is None
                else f"{_unit_cost(cost.per_unit)} / {cost.unit} x {cost.units:,} = "
                f"{fmt_s(cost.seconds)}"
            )
        table.add(name, *cells)
    table.add("all stages, one core", *(fmt_s(f.one_core) for f in floors))
    return table


def _unit_cost(seconds: float) -> str:
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def mode_mixed(bench: Bench) -> int:
    args, work = bench.args, bench.work
    plans = mixed_plans(bench)
    root = work / "dsec"
    say("synthesizing the two sequences")
    synth_s = synthesize(root, plans)
    workers = args.workers or 2
    before = disk_write_speed(work, args.disk_gib)
    runs, floors = [], []
    for event_format in ("npy", "ref"):
        label = "default (npy)" if event_format == "npy" else "--event-format ref"
        config = bench_config(
            args, root, work / f"out-{event_format}", workers=workers, event_format=event_format
        )
        run = run_build(label, config, args)
        say("measuring the CPU floor")
        runs.append(run)
        floors.append(measure_cpu_floor(run, workers))
        shutil.rmtree(config.out, ignore_errors=True)
    disk = DiskSpeed(before, disk_write_speed(work, args.disk_gib))
    print(_header(bench, "mixed input (issue 11 Done-when 1 and 3)", plans, synth_s, runs))
    print(
        f"- disk: {disk.before / 1e6:.0f} / {disk.after / 1e6:.0f} MB/s before / after "
        "(4 files at once, fsync); the floor uses the faster\n"
    )
    print(_floor_table(runs, floors, disk).markdown())
    print()
    print(_cost_table(runs, floors).markdown())
    return check_errors(runs)


def mode_one_long(bench: Bench) -> int:
    args, work = bench.args, bench.work
    plans = mixed_plans(bench)[:1]
    root = work / "dsec"
    say("synthesizing the long sequence")
    synth_s = synthesize(root, plans)
    many = args.workers if args.workers and args.workers > 1 else 2
    capacity = [cpu_capacity(many)]
    runs = []
    for event_format in ("npy", "ref"):
        for workers in (1, many):
            label = f"{event_format} {workers}w"
            out = work / f"out-{event_format}-{workers}"
            config = bench_config(args, root, out, workers=workers, event_format=event_format)
            runs.append(run_build(label, config, args))
            shutil.rmtree(out, ignore_errors=True)
    capacity.append(cpu_capacity(many))
    table = Table("metric", *(r.label for r in runs))
    table.add("wall (build() call)", *(fmt_s(r.wall) for r in runs))
    table.add("wall+sync", *(fmt_s(r.wall_sync) for r in runs))
    table.add("peak RSS", *(fmt_bytes(r.peak_rss) for r in runs))
    cells = []
    for one, two in zip(runs[::2], runs[1::2], strict=True):
        speedup = one.wall_sync / two.wall_sync
        cells += [
            "",
            f"{speedup:.2f}x (target >= {ONE_LONG_TARGET}x: {verdict(speedup >= ONE_LONG_TARGET)})",
        ]
    table.add(f"{many} workers vs 1 (wall+sync)", *cells)
    print(
        _header(
            bench,
            f"one long sequence, 1 vs {many} workers (issue 11 Done-when 2)",
            plans,
            synth_s,
            runs,
        )
    )
    print(
        f"- CPU probe: {many} busy processes got {capacity[0]:.2f} / {capacity[1]:.2f} cores "
        "(before / after the builds)\n"
    )
    print(table.markdown())
    return check_errors(runs)
