"""The ``egpt-dsec verify`` command-line options."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
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
