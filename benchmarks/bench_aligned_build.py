"""``--alignment``: what ``--rectify-events`` and ``--frames-view event`` cost in a build
(``bench_alignment.py`` times the two kernels alone).

The long sequence of ``--mixed`` (20 s of real-pattern events at 1.9 M ev/s, raw pixels,
so rectification drops events at the map's edges, with 1440x1080 frames and the
synthetic camera pair) built four times: default, each option alone, both.
"""

from __future__ import annotations

import shutil

from bench_input import synthesize
from bench_mixed import mixed_plans
from bench_runs import Bench, after_line, bench_config, build_line, check_errors, run_build
from benchkit import Table, fmt_bytes, fmt_s, say

VARIANTS = {
    "default": {},
    "--rectify-events": {"rectify_events": True},
    "--frames-view event": {"frames_view": "event"},
    "both": {"rectify_events": True, "frames_view": "event"},
}
STAGES = ("read_events", "count_rectified", "warp_frames", "decode_frames", "encode_mp4")


def mode_alignment(bench: Bench) -> int:
    args, work = bench.args, bench.work
    plans = mixed_plans(bench)[:1]
    root = work / "dsec"
    say("synthesizing the long sequence")
    synth_s = synthesize(root, plans)
    workers = args.workers or 2
    runs = []
    for label, options in VARIANTS.items():
        out = work / f"out-{len(runs)}"
        runs.append(
            run_build(label, bench_config(args, root, out, workers=workers, **options), args)
        )
        shutil.rmtree(out, ignore_errors=True)
    base = runs[0]
    table = Table("metric", *(r.label for r in runs))
    table.add("wall+sync", *(fmt_s(r.wall_sync) for r in runs))
    table.add("vs default", *(f"{r.wall_sync / base.wall_sync:.2f}x" for r in runs))
    table.add(
        "CPU seconds (all threads)",
        *(f"{fmt_s(r.stats.cpu_seconds)} ({r.stats.cpu_seconds / base.stats.cpu_seconds:.2f}x)"
          for r in runs),
    )  # fmt: skip
    table.add("bytes under OUT", *(fmt_bytes(r.out_bytes) for r in runs))
    table.add("peak RSS per worker", *(fmt_bytes(r.peak_rss) for r in runs))
    table.add("events into clips", *(f"{r.stats.events_in_clips:,}" for r in runs))
    table.add(
        "clip events dropped (outside the view)",
        *(f"{r.stats.events_dropped:,} ({_share(r)})" for r in runs),
    )
    table.section("stage seconds, summed over threads")
    for stage in STAGES:
        table.add(stage, *(fmt_s(r.stage(stage)) for r in runs))
    p = plans[0]
    print(f"### make bench: alignment options ({workers} workers)\n")
    print("\n".join(bench.facts))
    print(
        f"- input: {p.seconds:g} s at {p.rate / 1e6:g} M ev/s, real-pattern events, "
        f"{p.frame_size[0]}x{p.frame_size[1]} frames (written in {synth_s:.1f} s)"
    )
    print(build_line(base.config))
    print(after_line(runs) + "\n")
    print(table.markdown())
    return check_errors(runs)


def _share(run: object) -> str:
    stats = run.stats  # type: ignore[attr-defined]
    total = stats.events_dropped + stats.events_in_clips
    return f"{stats.events_dropped / total:.2%}" if total else "-"
