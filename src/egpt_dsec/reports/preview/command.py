"""The ``preview`` sub-command's options and entry point (the CLI's only part here)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from egpt_dsec import argtypes
from egpt_dsec.config.record import load_last_config
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.reports.preview.gallery import PreviewConfig, write_preview


def add_preview_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, required=True, help="the built output folder; e.g. --out out"
    )
    parser.add_argument(
        "--clips",
        type=int,
        default=4,
        help="clips per split and duration, spread evenly; default: 4; e.g. --clips 8",
    )
    parser.add_argument(
        "--splits", type=argtypes.csv_list, help="splits to show; default: all; e.g. train"
    )
    parser.add_argument(
        "--durations", type=argtypes.durations, help="durations to show; default: all; e.g. 1s"
    )
    parser.add_argument(
        "--sequences", type=argtypes.csv_list, help="sequences to show; default: all"
    )
    parser.add_argument(
        "--dsec-root",
        type=Path,
        help="the DSEC source, for exact frame times and overlays aligned with its "
        "calibration; default: the root the build read, if it is still there",
    )
    parser.add_argument(
        "--dest", type=Path, help="where to write the gallery; default: OUT/preview"
    )


def run_preview(args: argparse.Namespace) -> int:
    """Write the gallery; the view of the frames and events comes from the build's record."""
    if args.clips < 1:
        print("error: --clips must be at least 1", file=sys.stderr)
        return 2
    try:
        built = load_last_config(StateLayout(args.out))
    except ValueError:
        print(
            f"error: {args.out} holds no egpt-dsec build: give the --out of a build",
            file=sys.stderr,
        )
        return 2
    dsec_root = args.dsec_root or (built.dsec_root if built.dsec_root.is_dir() else None)
    config = PreviewConfig(
        out=args.out,
        clips=args.clips,
        splits=args.splits,
        durations=args.durations,
        sequences=args.sequences,
        dsec_root=dsec_root,
        frames_view=built.frames_view,
        events_rectified=built.rectify_events,
        camera=built.camera,
        dest=args.dest,
    )
    try:
        result = write_preview(config)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"preview: {result.clips} clips in {result.sections} sections -> {result.index}")
    return 0
