"""Command line: parse arguments into a config, call the library, print the outcome.

Each command is a module here with ``add_arguments(parser)`` and ``run(args) -> int``,
imported only when its command runs, so ``status`` starts without h5py, PyAV or numba.
Every error is one line on stderr naming the fix, never a traceback (``-v`` shows it).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys
from types import ModuleType

from egpt_dsec import __version__

# name -> (what it does, module)
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("write a small synthetic DSEC root", "synth"),
    "plan": ("say what a build will make and cost, before it starts", "plan"),
    "build": ("build the clip dataset", "build"),
    "status": ("show how far a build is", "status"),
    "verify": ("check every finished output file", "verify"),
    "annotate": ("fill the answers with a vision-language model", "annotate"),
    "preview": ("write a static HTML gallery of a built dataset", "preview"),
    "label-qa": ("questions answered from DSEC-Detection's labels", "label_qa"),
    "score": ("accuracy of a model on the multiple-choice label questions", "score"),
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line naming the help to read."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see {self.prog} -h)\n")


def _command_module(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{COMMANDS[name][1]}")


def _parser(command: str | None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="egpt-dsec", description="Build EventGPT / Video-LLaVA clip datasets from DSEC."
    )
    parser.add_argument("--version", action="version", version=f"egpt-dsec {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging, tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, (summary, _) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary)
        if name == command:  # only the command that runs imports its module
            _command_module(name).add_arguments(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    args = _parser(command if command in COMMANDS else None).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        return int(_command_module(args.command).run(args))
    except KeyboardInterrupt:
        print(
            "\ninterrupted: every finished clip is recorded and no partial file was kept; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:
        # The reader went away (``status | head``): say nothing more, like any Unix tool,
        # and point stdout at /dev/null so the final flush at exit cannot fail again.
        with contextlib.suppress(AttributeError, OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        return _report(exc, args.verbose)


def _report(exc: Exception, verbose: bool) -> int:
    """Known problems (bad input, options, output) as one line; anything else too, with
    a pointer to ``-v`` for the traceback."""
    from egpt_dsec.errors import OutputError
    from egpt_dsec.source.errors import InputError
    from egpt_dsec.state.lock import OutputLockedError

    if verbose:
        logging.getLogger(__name__).exception("failed")
    known = (InputError, ValueError, ImportError, OutputError, OutputLockedError, OSError)
    if isinstance(exc, known):
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"error: unexpected {type(exc).__name__}: {exc} (run again with -v for the "
        "traceback, and please report it)",
        file=sys.stderr,
    )
    return 1


_stop_asked = False


def _interrupt(signum: int, frame: object) -> None:
    """The first Ctrl-C stops cleanly (workers drop their partial files within seconds);
    a second one exits at once, like a kill: the next run sweeps what is left."""
    global _stop_asked
    if _stop_asked:
        print("\nstopped at once; run the same command again to resume", file=sys.stderr)
        os._exit(130)
    _stop_asked = True
    print(
        "\nstopping: removing partial files (a few seconds; Ctrl-C again to quit at once)",
        file=sys.stderr,
        flush=True,
    )
    raise KeyboardInterrupt(f"signal {signum}")


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM stops a build the way Ctrl-C does: cleanly, resumable."""
    _interrupt(signum, frame)
