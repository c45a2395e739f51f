"""Whole-build benchmark: a DSEC sequence at a real event rate, built end to end.

Run: .venv/bin/python benchmarks/bench_build.py [--seconds 20] [--rate 5e6] [--workers 1]
     [--mp4-compare | --scaling | --big-clip | --skew] [--replay-real] [--keep]
Same as ``egpt-dsec bench``; see ``egpt_dsec.bench`` for what is measured and
benchmarks/RESULTS.md for the numbers on the reference machine. Not a test: it prints
the machine facts and one markdown table.
"""

from __future__ import annotations

import sys

from egpt_dsec.bench import main

if __name__ == "__main__":
    sys.exit(main())
