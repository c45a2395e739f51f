"""``egpt-dsec score``: accuracy of a model on the multiple-choice label questions."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="the output folder of a build")
    parser.add_argument(
        "--predictions",
        type=Path,
        required=True,
        help='JSON lines, one {"id": ..., "answer": <option index>} per item',
    )
    parser.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table for people, json (top-level accuracy) for scripts; default: table",
    )


def run(args: argparse.Namespace) -> int:
    from egpt_dsec.labels.score import format_score
    from egpt_dsec.reports.score import score_output

    result = score_output(args.out, args.predictions)
    print(result.to_json() if args.format == "json" else format_score(result))
    return 0
