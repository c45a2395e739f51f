"""How busy the cores are during a build: a timeline of busy cores, second by second.

Builds the ``--mixed`` input (two real-pattern sequences: 20 s at 1.9 M ev/s with
1440x1080 frames, 12 s at 1.4 M ev/s with 640x480) with 2 workers and samples
``/proc/stat`` every 0.5 s, so idle stretches (worker start-up, one job left alone)
show where a build falls short of its CPU floor. Prints when each job started and
ended, and the busy cores per half second.

Run: .venv/bin/python benchmarks/bench_busy.py [--event-format ref] [--input DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from pathlib import Path

from bench_input import synthesize
from bench_mixed import mixed_input
from egpt_dsec.config import BuildConfig
from egpt_dsec.execute.executor import LocalExecutor
from egpt_dsec.execute.report import JobResult, NullReporter
from egpt_dsec.pipeline import build
from egpt_dsec.synth.real import REAL_SAMPLE_DIR

SAMPLE_SECONDS = 0.5


def _busy_jiffies() -> tuple[int, int]:
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class Timeline:
    """Busy cores per sample, measured on a thread until :meth:`stop`."""

    def __init__(self, cores: int) -> None:
        self.cores = cores
        self.samples: list[tuple[float, float]] = []  # (seconds, busy cores)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        start, (busy, total) = time.monotonic(), _busy_jiffies()
        while not self._stop.wait(SAMPLE_SECONDS):
            now_busy, now_total = _busy_jiffies()
            share = (now_busy - busy) / max(1, now_total - total)
            self.samples.append((time.monotonic() - start, share * self.cores))
            busy, total = now_busy, now_total

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class JobTimes(NullReporter):
    """Prints when each job starts and ends, from the build's start."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def _say(self, what: str) -> None:
        print(f"  {time.monotonic() - self.start:6.1f} s  {what}", flush=True)

    def build_started(self, units: int, clips: int, events: int) -> None:
        self._say(f"build started: {units} units, {clips} clips")

    def job_started(self, key: str) -> None:
        self._say(f"start {key}")

    def job_finished(self, result: JobResult) -> None:
        self._say(f"done  {result.key} ({result.seconds:.1f} s in the job)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--event-format", default="npy", choices=("npy", "ref"))
    parser.add_argument("--input", type=Path, help="keep the synthesized input here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(
        dir="bench-out" if Path("bench-out").is_dir() else None
    ) as scratch:
        root = args.input or Path(scratch) / "dsec"
        if not root.exists():
            synthesize(root, mixed_input(REAL_SAMPLE_DIR, seed=0))
        out = Path(scratch) / "out"
        shutil.rmtree(out, ignore_errors=True)
        config = BuildConfig(dsec_root=root, out=out, workers=2, event_format=args.event_format)
        timeline, jobs = Timeline(2), JobTimes()
        report = build(config, LocalExecutor(2), jobs)
        wall = time.monotonic() - jobs.start
        timeline.stop()
    print(f"{args.event_format}: wall {wall:.2f} s, {len(report.failures)} failed jobs")
    print("busy cores per half second (2 = both):")
    print(" ".join(f"{seconds:.1f}:{busy:.2f}" for seconds, busy in timeline.samples))


if __name__ == "__main__":
    main()
