"""``egpt-dsec build``: the config from the flags, the build, and its outcome."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from egpt_dsec.cli.config_args import HelpFormatter, add_config_arguments, config_from_args
from egpt_dsec.config import BuildConfig, help_groups

if TYPE_CHECKING:
    from egpt_dsec.execute.executor import Executor
    from egpt_dsec.pipeline import BuildReport
    from egpt_dsec.source.discover import SequenceSource

# The worked examples at the end of ``build -h`` (what each does, the command), run from
# the folder holding DSEC/; tests/test_cli.py parses every one with the real flags.
EXAMPLES: tuple[tuple[str, str], ...] = (
    (
        "the default build: every default duration and output kind",
        "egpt-dsec build --dsec-root DSEC --out egpt",
    ),
    (
        "a quick one: a single duration",
        "egpt-dsec build --dsec-root DSEC --out egpt-1s --durations 1s",
    ),
    (
        "the compact store: no event copies, the JSON points into DSEC's events.h5",
        "egpt-dsec build --dsec-root DSEC --out egpt-ref --event-format ref",
    ),
    (
        "event tensors too: 5-bin voxel grids and 10-bin stacked histograms",
        "egpt-dsec build --dsec-root DSEC --out egpt-tensors --tensors voxel:5,histogram:10",
    ),
    (
        "events and frames in one picture: both in the rectified event view, 640x480",
        "egpt-dsec build --dsec-root DSEC --out egpt-aligned --rectify-events --frames-view event",
    ),
    (
        "one 50 ms clip per camera frame instead of sliding windows",
        "egpt-dsec build --dsec-root DSEC --out egpt-50ms --durations 50ms --windows per-frame",
    ),
)
_WIDTH = 78  # an example line longer than this goes on with a backslash


def examples_text(command: str, intro: str) -> str:
    """The epilog of ``command -h``: ``intro``, then :data:`EXAMPLES` with ``build``
    replaced by ``command``; a long line goes on, backslash-continued, before a flag."""
    lines = [intro]
    for comment, example in EXAMPLES:
        lines.append(f"  # {comment}")
        head, *flags = example.replace(" build ", f" {command} ", 1).split(" --")
        line = f"  {head}"
        for flag in flags:
            if len(line) + len(flag) + 3 > _WIDTH - 2:
                lines.append(f"{line} \\")
                line = "     "
            line += f" --{flag}"
        lines.append(line)
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "%(prog)s --dsec-root DIR --out DIR [options]"
    parser.formatter_class = HelpFormatter
    parser.epilog = examples_text("build", "examples (run in the folder holding DSEC/):")
    add_config_arguments(parser, BuildConfig, groups=help_groups())
    own = parser.add_argument_group("build only")
    own.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        metavar="WHERE",
        help="where jobs run: local = this machine's process pool, ray = a Ray cluster; "
        "default: local",
    )
    own.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="the Ray cluster; default: Ray's choice ($RAY_ADDRESS, else a cluster running "
        "here, else a new local one); e.g. --ray-address ray://head:10001",
    )
    own.add_argument(
        "--rebuild-changed",
        action="store_true",
        help="rebuild the components whose options differ from the existing output",
    )
    own.add_argument(
        "--no-space-check",
        action="store_true",
        help="start even when the plan says the output will not fit in the free space",
    )


def run(args: argparse.Namespace) -> int:
    from egpt_dsec.pipeline import build
    from egpt_dsec.pipeline.preflight import preflight
    from egpt_dsec.progress import LogProgress, TerminalProgress

    config = config_from_args(args, BuildConfig)
    sources = preflight(config)  # every refusal before the plan probes the disk
    if not _plan_allows(config, sources, args.no_space_check):
        return 2
    progress = TerminalProgress() if sys.stderr.isatty() else LogProgress()
    started = time.monotonic()
    try:
        report = build(
            config,
            executor=_executor(args),
            reporter=progress,
            rebuild_changed=args.rebuild_changed,
        )
    finally:
        progress.close()
    _print_outcome(report, config, time.monotonic() - started)
    return 1 if report.failures else 0


def _plan_allows(config: BuildConfig, sources: list[SequenceSource], no_space_check: bool) -> bool:
    """Print the plan's summary; False (with the reason) when what is left to build will
    not fit in the free space."""
    from egpt_dsec.humanize import format_bytes
    from egpt_dsec.reports.plan.collect import estimate_build, remaining_bytes
    from egpt_dsec.reports.plan.format import summary

    estimate = estimate_build(config, sources=sources)
    print(summary(estimate), flush=True)
    needed = remaining_bytes(estimate, config.out)
    if no_space_check or estimate.free_bytes is None or needed <= estimate.free_bytes:
        return True
    print(
        f"error: the build needs about {format_bytes(needed)} more but {config.out} has "
        f"{format_bytes(estimate.free_bytes)} free; free some space, choose another --out, or "
        "pass --no-space-check to start anyway",
        file=sys.stderr,
    )
    return False


def _print_outcome(report: BuildReport, config: BuildConfig, seconds: float) -> None:
    from egpt_dsec.humanize import format_bytes

    t = report.totals
    print(
        f"built {t.clips_built:,} clips ({t.clips_empty:,} empty), skipped {t.clips_skipped:,} "
        f"done clips, {t.events_in_clips:,} events into clips, {report.files_written:,} files, "
        f"{format_bytes(report.bytes_written)} in {seconds:.1f}s"
    )
    if t.events_dropped:
        share = t.events_dropped / (t.events_dropped + t.events_in_clips)
        print(
            f"rectified: {t.events_dropped:,} clip events ({share:.2%}) fell outside the "
            "640x480 rectified view and were dropped"
        )
    for key, durations in sorted(report.too_short.items()):
        print(f"note: {key} is too short for {', '.join(durations)} (no clips)")
    print(f"status: egpt-dsec status --out {config.out}")
    if report.card is not None:
        print(f"dataset card: {report.card}")
    if report.failures:
        print(f"\n{len(report.failures)} sequence(s) FAILED:", file=sys.stderr)
        for failure in report.failures:
            print(f"  {failure.key}: {failure.error}", file=sys.stderr)
        print(
            "Fix the input and re-run the same command: finished clips are kept.", file=sys.stderr
        )


def _executor(args: argparse.Namespace) -> Executor | None:
    if args.executor == "local":
        return None  # the pipeline's default: LocalExecutor(--workers)
    from egpt_dsec.execute.ray_executor import RayExecutor, require_ray

    require_ray()
    return RayExecutor(address=args.ray_address)
