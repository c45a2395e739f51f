"""``egpt-dsec plan``: what a build with these options will make and cost."""

from __future__ import annotations

import argparse
from pathlib import Path

from egpt_dsec.cli.build import examples_text
from egpt_dsec.cli.config_args import HelpFormatter, add_config_arguments, config_from_args
from egpt_dsec.config import BuildConfig, help_groups

# Without --out, the free space and the disk speed are those of the current folder. This
# very object is the default, so ``run`` can tell it from an --out given on the line.
HERE = Path(".")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "%(prog)s --dsec-root DIR [--out DIR] [options]"
    parser.formatter_class = HelpFormatter
    parser.epilog = examples_text(
        "plan", "examples: what each of these builds would make and cost (run beside DSEC/):"
    )
    here = (HERE, "the current folder, for its free space")
    add_config_arguments(parser, BuildConfig, defaults={"out": here}, groups=help_groups())
    parser.add_argument_group("plan only").add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        metavar="FORMAT",
        help="table for people, json for scripts (top-level clips and bytes); default: table",
    )


def run(args: argparse.Namespace) -> int:
    from egpt_dsec.pipeline.preflight import preflight
    from egpt_dsec.reports.plan.collect import estimate_build
    from egpt_dsec.reports.plan.format import format_plan, plan_json

    config = config_from_args(args, BuildConfig)
    # The build's own refusals, before the probe writes its test files; the current
    # folder (no --out) is where the user is, not an output to refuse for its files.
    sources = preflight(config, foreign=args.out is not HERE)
    estimate = estimate_build(config, sources=sources)
    print(plan_json(estimate) if args.format == "json" else format_plan(estimate))
    return 0
