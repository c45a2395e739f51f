"""The ``preview`` sub-command's options and entry point (the CLI's only part here)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from egpt_dsec import argtypes
from egpt_dsec.reports.preview.gallery import PreviewConfig, write_preview
from egpt_dsec.reports.preview.overlay import FRAME_VIEWS
from egpt_dsec.source.calibration import CAMERAS


def add_preview_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="the built output folder")
    parser.add_argument(
        "--clips", type=int, default=4, help="clips per split and duration, spread evenly (4)"
    )
    parser.add_argument("--splits", type=argtypes.csv_list, help="splits to show (all)")
    parser.add_argument("--durations", type=argtypes.durations, help="durations to show (all)")
    parser.add_argument("--sequences", type=argtypes.csv_list, help="sequences to show (all)")
    parser.add_argument(
        "--dsec-root",
        type=Path,
        help="the DSEC source: exact frame times, and overlays aligned with its calibration",
    )
    parser.add_argument(
        "--frames-view",
        choices=FRAME_VIEWS,
        default="camera",
        help="the view the build wrote the frames in (camera)",
    )
    parser.add_argument(
        "--events-rectified",
        action="store_true",
        help="the build rectified the events (do not rectify them again)",
    )
    parser.add_argument("--camera", choices=sorted(CAMERAS), default="left", help="(left)")
    parser.add_argument("--dest", type=Path, help="where to write the gallery (OUT/preview)")


def run_preview(args: argparse.Namespace) -> int:
    """Write the gallery; 0 on success, 1 (with the reason on stderr) when there is none."""
    if args.clips < 1:
        print("preview: --clips must be at least 1", file=sys.stderr)
        return 1
    config = PreviewConfig(
        out=args.out,
        clips=args.clips,
        splits=args.splits,
        durations=args.durations,
        sequences=args.sequences,
        dsec_root=args.dsec_root,
        frames_view=args.frames_view,
        events_rectified=args.events_rectified,
        camera=args.camera,
        dest=args.dest,
    )
    try:
        result = write_preview(config)
    except (OSError, ValueError) as exc:
        print(f"preview: {exc}", file=sys.stderr)
        return 1
    print(f"preview: {result.clips} clips in {result.sections} sections -> {result.index}")
    return 0
