"""``egpt-dsec status``: how far a build is, from its state files only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="the output folder")
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table")


def run(args: argparse.Namespace) -> int:
    from egpt_dsec.reports.status import collect_status, format_markdown, format_table

    if not args.out.is_dir():
        print(f"error: {args.out} does not exist: nothing has been built there", file=sys.stderr)
        return 2
    status = collect_status(args.out)
    text = {"table": format_table, "markdown": format_markdown}.get(args.format)
    print(text(status) if text else status.to_json())
    return 0
