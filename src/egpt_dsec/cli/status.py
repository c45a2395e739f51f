"""``egpt-dsec status``: how far a build is, from its state files only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, required=True, help="the output folder of a build; e.g. --out out"
    )
    parser.add_argument(
        "--format",
        choices=("table", "markdown", "json"),
        default="table",
        help="table for people, markdown for reports, json for scripts; default: table",
    )


def run(args: argparse.Namespace) -> int:
    from egpt_dsec.layout.state import StateLayout
    from egpt_dsec.reports.status import collect_status, format_markdown, format_table

    if not StateLayout(args.out).plan_files():
        what = "does not exist" if not args.out.is_dir() else "holds no egpt-dsec build"
        print(
            f"error: {args.out} {what}: give the --out of a build "
            f"(egpt-dsec build --dsec-root DSEC --out {args.out})",
            file=sys.stderr,
        )
        return 2
    status = collect_status(args.out)
    text = {"table": format_table, "markdown": format_markdown}.get(args.format)
    print(text(status) if text else status.to_json())
    return 0
