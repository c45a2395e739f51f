"""Command line: parse arguments into a config, call the library, print the outcome."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from egpt_dsec import argtypes
from egpt_dsec.bench import add_bench_arguments, run_bench
from egpt_dsec.config import (
    COMPONENTS,
    DEFAULT_QUESTIONS,
    EVENT_FORMATS,
    FRAME_MODES,
    IMAGE_STYLES,
    MP4_MODES,
    BuildConfig,
    EventImageOptions,
    VideoOptions,
)
from egpt_dsec.durations import DEFAULT_DURATIONS
from egpt_dsec.errors import OutputError
from egpt_dsec.execute.lock import OutputLockedError
from egpt_dsec.layout import OutputLayout
from egpt_dsec.reports.verify.arguments import add_verify_arguments
from egpt_dsec.source.errors import InputError

if TYPE_CHECKING:
    from egpt_dsec.execute.executor import Executor


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="egpt-dsec", description="Build EventGPT / Video-LLaVA clip datasets from DSEC."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    synth = commands.add_parser("synth", help="write a small synthetic DSEC root")
    synth.add_argument("out", type=Path, help="folder to create the DSEC layout in")
    synth.add_argument("--sequences", type=int, default=2, help="train sequences (2)")
    synth.add_argument("--test-sequences", type=int, default=0, help="test sequences (0)")
    synth.add_argument("--seconds", type=float, default=20.0, help="length of each (20)")
    synth.add_argument("--rate", type=float, default=2e6, help="events per second (2e6)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--frame-size", type=argtypes.size, default=(640, 480), help="WxH (640x480)")
    synth.add_argument(
        "--layout",
        choices=("split", "sequence"),
        default="split",
        help="events/left/ (split archives) or events_left/ (per sequence)",
    )

    build = commands.add_parser("build", help="build the clip dataset")
    build.add_argument("--dsec-root", type=Path, required=True)
    build.add_argument("--out", type=Path, required=True)
    build.add_argument(
        "--splits", type=argtypes.csv_list, default=None, help="e.g. train,test (all)"
    )
    build.add_argument("--sequences", type=argtypes.csv_list, default=None, help="names (all)")
    build.add_argument(
        "--durations",
        type=argtypes.durations,
        default=DEFAULT_DURATIONS,
        help="e.g. 500ms,1s,2s (" + ",".join(d.label for d in DEFAULT_DURATIONS) + ")",
    )
    build.add_argument("--overlap", type=float, default=0.5, help="window overlap (0.5)")
    build.add_argument(
        "--components",
        type=argtypes.csv_list,
        default=COMPONENTS,
        help="subset of " + ",".join(COMPONENTS),
    )
    build.add_argument("--workers", type=int, default=1, help="parallel sequences (1)")
    build.add_argument("--camera", choices=("left", "right"), default="left")
    build.add_argument("--event-images", type=int, default=5, help="images per clip (5)")
    build.add_argument(
        "--event-image-rate",
        type=float,
        default=None,
        help="images per second of clip instead of a fixed count",
    )
    build.add_argument(
        "--event-image-style",
        choices=IMAGE_STYLES,
        default="last",
        help="overlap rule last|red|blue, or gray accumulation (last)",
    )
    build.add_argument("--png-compress", type=int, default=1, help="PNG zlib level 0-9 (1)")
    build.add_argument(
        "--frames",
        choices=FRAME_MODES,
        default="hardlink",
        help="how clip frame folders get their PNGs (hardlink)",
    )
    build.add_argument(
        "--mp4-mode",
        choices=MP4_MODES,
        default="remux",
        help="remux: encode each sequence once and cut clips by packet copy; "
        "encode: one encode per clip (remux)",
    )
    build.add_argument(
        "--event-format",
        choices=EVENT_FORMATS,
        default="npy",
        help="npy: a copy of the events per clip; ref: the JSON points into "
        "the source events.h5, read with egpt_dsec.load_clip_events (npy)",
    )
    build.add_argument(
        "--shard-seconds",
        type=float,
        default=60.0,
        help="split long sequences into work units of this length; 0 = whole (60)",
    )
    build.add_argument("--preset", default="fast", help="x264 preset (fast)")
    build.add_argument("--crf", type=int, default=28, help="x264 crf (28)")
    build.add_argument(
        "--video-size", type=argtypes.size, default=None, help="WxH, made even (source)"
    )
    build.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="where jobs run: this machine's process pool, or a Ray cluster (local)",
    )
    build.add_argument("--ray-address", default=None, help="Ray cluster address (auto)")
    build.add_argument(
        "--rebuild-changed",
        action="store_true",
        help="rebuild components whose options differ from the existing output",
    )
    build.add_argument(
        "--questions",
        type=Path,
        default=None,
        help="text file, one question per line, for the human turn",
    )

    verify = commands.add_parser("verify", help="check every finished output file")
    add_verify_arguments(verify)

    bench = commands.add_parser("bench", help="benchmark a build on synthetic data")
    add_bench_arguments(bench)

    status = commands.add_parser("status", help="show how far a build is")
    status.add_argument("--out", type=Path, required=True)
    status.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    return parser


def config_from_args(args: argparse.Namespace) -> BuildConfig:
    questions = DEFAULT_QUESTIONS
    if args.questions is not None:
        questions = tuple(
            line.strip() for line in args.questions.read_text().splitlines() if line.strip()
        )
    return BuildConfig(
        dsec_root=args.dsec_root,
        out=args.out,
        splits=args.splits,
        sequences=args.sequences,
        durations=args.durations,
        overlap=args.overlap,
        components=args.components,
        camera=args.camera,
        workers=args.workers,
        images=EventImageOptions(
            count=args.event_images,
            rate_hz=args.event_image_rate,
            style=args.event_image_style,
            compress_level=args.png_compress,
        ),
        video=VideoOptions(
            preset=args.preset,
            crf=args.crf,
            size=args.video_size,
            mode=args.mp4_mode,
            frames=args.frames,
        ),
        questions=questions,
        event_format=args.event_format,
        shard_seconds=args.shard_seconds or None,
    )


def _cmd_synth(args: argparse.Namespace) -> int:
    from egpt_dsec.synth import SynthSpec, write_synthetic_dsec

    spec = SynthSpec(
        sequences=args.sequences,
        test_sequences=args.test_sequences,
        seconds=args.seconds,
        rate=args.rate,
        seed=args.seed,
        frame_size=args.frame_size,
        layout=args.layout,
    )
    started = time.monotonic()
    folders = write_synthetic_dsec(args.out, spec, on_sequence=lambda name: print(f"wrote {name}"))
    print(
        f"synthetic DSEC: {len(folders)} sequences in {args.out} "
        f"({time.monotonic() - started:.1f}s)"
    )
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from egpt_dsec.pipeline import build
    from egpt_dsec.progress import LogProgress, TerminalProgress
    from egpt_dsec.source.discover import discover_sequences

    config = config_from_args(args)
    count = len(
        discover_sequences(config.dsec_root, config.splits, config.sequences, config.camera)
    )
    progress = TerminalProgress(count) if sys.stderr.isatty() else LogProgress(count)
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
    seconds = time.monotonic() - started
    t = report.totals
    print(
        f"built {t.clips_built} clips ({t.clips_empty} empty), skipped {t.clips_skipped} done "
        f"clips, {t.events_in_clips:,} events into clips, {t.files_written:,} files, "
        f"{sum(t.bytes_written.values()) / 2**20:,.1f} MiB in {seconds:.1f}s"
    )
    for key, durations in sorted(report.too_short.items()):
        print(f"note: {key} is too short for {', '.join(durations)} (no clips)")
    print(f"status: egpt-dsec status --out {config.out}")
    if report.failures:
        print(f"\n{len(report.failures)} sequence(s) FAILED:", file=sys.stderr)
        for failure in report.failures:
            print(f"  {failure.key}: {failure.error}", file=sys.stderr)
        print(
            "Fix the input and re-run the same command: finished clips are kept.", file=sys.stderr
        )
        return 1
    return 0


def _executor(args: argparse.Namespace) -> Executor | None:
    if args.executor == "local":
        return None  # the pipeline's default: LocalExecutor(--workers)
    from egpt_dsec.execute.ray_executor import RayExecutor, require_ray

    require_ray()
    return RayExecutor(address=args.ray_address)


def _cmd_verify(args: argparse.Namespace) -> int:
    from egpt_dsec.options_record import load_last_config
    from egpt_dsec.pipeline import build
    from egpt_dsec.reports.verify.fix import fix_output
    from egpt_dsec.reports.verify.report import format_verify
    from egpt_dsec.reports.verify.run import verify_output

    report = verify_output(args.out, args.dsec_root, workers=args.workers)
    print(format_verify(report))
    if report.ok():
        return 0
    if not args.fix:
        print("run again with --fix to rebuild the affected clips", file=sys.stderr)
        return 1
    try:
        fixed = fix_output(args.out, report)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config = load_last_config(OutputLayout(args.out).state_dir)
    print(f"rebuilding {len(fixed)} clip(s) with the options of the last build")
    result = build(config)
    report = verify_output(args.out, args.dsec_root, workers=args.workers)
    print(format_verify(report))
    return 0 if report.ok() and not result.failures else 1


def _cmd_status(args: argparse.Namespace) -> int:
    from egpt_dsec.reports.status import collect_status, format_markdown, format_table

    if not args.out.is_dir():
        print(f"error: {args.out} does not exist: nothing has been built there", file=sys.stderr)
        return 2
    status = collect_status(args.out)
    text = {"table": format_table, "markdown": format_markdown}.get(args.format)
    print(text(status) if text else status.to_json())
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    commands = {
        "synth": _cmd_synth,
        "build": _cmd_build,
        "status": _cmd_status,
        "verify": _cmd_verify,
        "bench": run_bench,
    }
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return commands[args.command](args)
    except (InputError, ValueError, ImportError, OutputError, OutputLockedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: every finished clip is recorded and no partial file was kept; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return 130


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM stops a build the way Ctrl-C does: cleanly, resumable."""
    raise KeyboardInterrupt(f"signal {signum}")
