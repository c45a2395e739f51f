"""``python -m egpt_dsec.reports.preview --out OUT``."""

from __future__ import annotations

import argparse
import sys

from egpt_dsec.reports.preview import add_preview_arguments, run_preview


def main() -> int:
    parser = argparse.ArgumentParser(prog="egpt-dsec preview", description=__doc__)
    add_preview_arguments(parser)
    return run_preview(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
