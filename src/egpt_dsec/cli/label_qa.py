"""``egpt-dsec label-qa``: questions answered from DSEC-Detection's labels, for a build."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from egpt_dsec.cli.config_args import HelpFormatter, add_config_arguments, config_from_args
from egpt_dsec.durations import Duration
from egpt_dsec.kinds import LABEL_QA
from egpt_dsec.layout.dsec import TRACKS_NAME

# label-qa spells the label options' splits and durations as build spells its own.
FLAGS = {"label_splits": "--splits", "label_durations": "--durations"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = HelpFormatter
    parser.usage = "%(prog)s --out DIR --dsec-root DIR [options]"
    parser.epilog = (
        "example: egpt-dsec label-qa --out egpt --dsec-root DSEC --multiple-choice\n"
        "then:    egpt-dsec score --out egpt --predictions predictions.jsonl"
    )
    parser.add_argument("--out", type=Path, required=True, help="the output folder of a build")
    parser.add_argument(
        "--dsec-root",
        type=Path,
        required=True,
        help=f"the DSEC root, with DSEC-Detection's labels unzipped into it ({TRACKS_NAME})",
    )
    assert LABEL_QA.options_type is not None
    add_config_arguments(parser, LABEL_QA.options_type, flags=FLAGS)


def run(args: argparse.Namespace) -> int:
    from egpt_dsec.pipeline.labels import label_qa

    assert LABEL_QA.options_type is not None
    options = config_from_args(args, LABEL_QA.options_type)
    report = label_qa(args.out, args.dsec_root, options)
    found = report.sequences
    groups = sorted({d for _, d in report.groups}, key=lambda d: Duration.parse(d).us)
    print(
        f"label-qa: {report.questions:,} questions about {report.clips:,} clips in "
        f"{len(report.groups)} split/duration folders ({', '.join(groups) or 'none'})"
    )
    if report.choices:
        print(f"multiple choice: {report.choices:,} items (score with egpt-dsec score)")
    print(
        f"sequences: {len(found['labels'])} with labels, {len(found['no labels'])} without "
        f"(no questions), {len(found['failed'])} failed"
    )
    print(f"status: egpt-dsec status --out {args.out}")
    if report.failures:
        print(f"\n{len(report.failures)} sequence(s) FAILED:", file=sys.stderr)
        for key, problem in report.failures.items():
            print(f"  {key}: {problem}", file=sys.stderr)
        return 1
    return 0
