"""Command line: parse arguments into a config, call the library, print the outcome.

Each command is a module with ``add_<command>_arguments`` and ``run_<command>``; the
heavy libraries (h5py, PyAV, numba) are imported only by the command that runs.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable

from egpt_dsec.cli.build import add_build_arguments, run_build
from egpt_dsec.cli.status import add_status_arguments, run_status
from egpt_dsec.cli.synth import add_synth_arguments, run_synth
from egpt_dsec.cli.verify import add_verify_arguments, run_verify
from egpt_dsec.errors import OutputError
from egpt_dsec.source.errors import InputError
from egpt_dsec.state.lock import OutputLockedError

Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[..., int]]
COMMANDS: dict[str, Command] = {
    "synth": ("write a small synthetic DSEC root", add_synth_arguments, run_synth),
    "build": ("build the clip dataset", add_build_arguments, run_build),
    "verify": ("check every finished output file", add_verify_arguments, run_verify),
    "status": ("show how far a build is", add_status_arguments, run_status),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="egpt-dsec", description="Build EventGPT / Video-LLaVA clip datasets from DSEC."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (summary, add_arguments, _) in COMMANDS.items():
        add_arguments(commands.add_parser(name, help=summary, description=summary))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(COMMANDS[args.command][2](args))
    except (InputError, ValueError, ImportError, OutputError, OutputLockedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: every finished clip is recorded and no partial file was kept; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return 130


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM stops a build the way Ctrl-C does: cleanly, resumable."""
    raise KeyboardInterrupt(f"signal {signum}")
