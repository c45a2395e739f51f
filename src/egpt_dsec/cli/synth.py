"""``egpt-dsec synth``: a small synthetic DSEC root."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from egpt_dsec.cli.config_args import add_config_arguments, config_from_args
from egpt_dsec.synth.spec import SynthSpec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, help="folder to create the DSEC layout in")
    add_config_arguments(parser, SynthSpec)


def run(args: argparse.Namespace) -> int:
    from egpt_dsec.synth import write_synthetic_dsec

    spec = config_from_args(args, SynthSpec)
    started = time.monotonic()
    folders = write_synthetic_dsec(args.out, spec, on_sequence=lambda name: print(f"wrote {name}"))
    print(
        f"synthetic DSEC: {len(folders)} sequences in {args.out} "
        f"({time.monotonic() - started:.1f}s)"
    )
    return 0
