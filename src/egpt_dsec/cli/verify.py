"""``egpt-dsec verify``: check every finished file, and ``--fix`` rebuilds the bad clips."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="the output folder to check")
    parser.add_argument(
        "--dsec-root",
        type=Path,
        default=None,
        help="also compare events and frames with this DSEC root (slower, stronger)",
    )
    parser.add_argument(
        "--fix",
        action="store_true",
        help="forget clips with problems and delete their bad files, then rebuild them",
    )
    parser.add_argument("--workers", type=int, default=1, help="clips checked in parallel (1)")


def run(args: argparse.Namespace) -> int:
    from egpt_dsec.config.record import load_last_config
    from egpt_dsec.layout.state import StateLayout
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
    config = load_last_config(StateLayout(args.out))
    print(f"rebuilding {len(fixed)} clip(s) with the options of the last build")
    result = build(config)
    report = verify_output(args.out, args.dsec_root, workers=args.workers)
    print(format_verify(report))
    return 0 if report.ok() and not result.failures else 1
