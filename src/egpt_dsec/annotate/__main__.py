"""``python -m egpt_dsec.annotate ...``: the annotate command on its own."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from egpt_dsec.annotate.cli import add_annotate_arguments, run_annotate


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM stops the way Ctrl-C does: answers so far are kept."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="egpt-dsec annotate", description="Answer every clip's questions with a VLM."
    )
    add_annotate_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    signal.signal(signal.SIGTERM, _terminate)
    return run_annotate(args)


if __name__ == "__main__":
    sys.exit(main())
