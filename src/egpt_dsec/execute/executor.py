"""Executors decide where jobs run; the job code is the same everywhere.

``LocalExecutor`` runs jobs in this process (1 worker) or in a spawned process
pool, relaying progress through a queue. A Ray executor implements the same
``run`` and is chosen by name, so the pipeline never knows which one it has.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing as mp
import os
import queue
import signal
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

from egpt_dsec.execute.job import SequenceJob, run_job
from egpt_dsec.execute.report import JobResult, Reporter

STOP_GRACE_SECONDS = 4.0  # a stopped worker cleans its temp files within this, or is killed


class Executor(Protocol):
    def run(self, jobs: Sequence[SequenceJob], reporter: Reporter) -> list[JobResult]:
        """Run every job once; return one result per job, in the order given."""
        ...


class QueueReporter:
    """Forwards progress from a worker process to the driver as plain tuples."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel

    def build_started(self, units: int, clips: int, events: int) -> None:
        pass  # only the driver starts builds

    def job_started(self, key: str) -> None:
        self.channel.put(("job_started", (key,)))

    def events_read(self, key: str, events: int) -> None:
        self.channel.put(("events_read", (key, events)))

    def clip_done(self, key: str) -> None:
        self.channel.put(("clip_done", (key,)))

    def job_finished(self, result: JobResult) -> None:
        pass  # the driver reports results as their futures complete


def relay(message: tuple[str, tuple[Any, ...]], reporter: Reporter) -> None:
    """Replay a forwarded progress message on the driver's reporter."""
    name, args = message
    getattr(reporter, name)(*args)


_worker_reporter: QueueReporter | None = None
_in_job = False  # a job runs in this worker process (it must clean up before exiting)


def _init_worker(channel: Any) -> None:
    """Workers ignore the terminal's Ctrl-C; the driver stops them with SIGTERM instead,
    which raises KeyboardInterrupt inside the job so its temp files are removed."""
    global _worker_reporter
    _worker_reporter = QueueReporter(channel)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    """The driver stops this worker: a running job unwinds (removing its temp files),
    then the process exits; an idle worker exits at once."""
    if not _in_job:
        os._exit(0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one unwind: let the cleanup finish
    raise KeyboardInterrupt(f"signal {signum}")


def _run_in_worker(job: SequenceJob) -> JobResult:
    global _in_job
    _in_job = True
    try:
        return run_job(job, _worker_reporter)
    except KeyboardInterrupt:
        os._exit(0)  # cleaned up; exit rather than take the next queued job
    finally:
        _in_job = False


class LocalExecutor:
    """Jobs on this machine: in-process for one worker or one job, else a spawned process
    pool of ``workers`` processes.

    ``workers`` is the build's share of the machine's cores, and every job may use all of
    them: jobs running side by side share them, and the last one running (a long
    sequence, the tail of any build) gets them all instead of leaving them idle.
    """

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers

    def run(self, jobs: Sequence[SequenceJob], reporter: Reporter) -> list[JobResult]:
        jobs = [dataclasses.replace(job, cores=self.workers) for job in jobs]
        if self.workers == 1 or len(jobs) <= 1:
            return [run_job(job, reporter) for job in jobs]
        context = mp.get_context("spawn")  # h5py and numba are not fork-safe
        channel = context.Queue()
        results: dict[int, JobResult] = {}
        with ProcessPoolExecutor(
            max_workers=min(self.workers, len(jobs)),
            mp_context=context,
            initializer=_init_worker,
            initargs=(channel,),
        ) as pool:
            pending: dict[Future[JobResult], int] = {
                pool.submit(_run_in_worker, job): i for i, job in enumerate(jobs)
            }
            try:
                while pending:
                    finished, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    _drain(channel, reporter)
                    for future in finished:
                        i = pending.pop(future)
                        results[i] = _result_of(future, jobs[i])
                        reporter.job_finished(results[i])
                _drain(channel, reporter)
            except BaseException:
                _stop_workers(pool)
                raise
        return [results[i] for i in range(len(jobs))]


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Interrupt every worker: a running job cleans up, then its worker exits; an idle one
    exits at once, so no queued job starts (the pool, broken, fails the rest).

    A worker that has not exited after ``STOP_GRACE_SECONDS`` is killed: its temp
    files are then removed by the next build, before any job starts. Futures are never
    cancelled here: the pool's own thread fails them when it sees its workers gone.
    """
    processes = list(getattr(pool, "_processes", {}).values())
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
    pool.shutdown(wait=False)


def _drain(channel: Any, reporter: Reporter) -> None:
    while True:
        try:
            relay(channel.get_nowait(), reporter)
        except queue.Empty:
            return


def _result_of(future: Future[JobResult], job: SequenceJob) -> JobResult:
    """A worker that died still yields a result, with the error, for that job alone."""
    try:
        return future.result()
    except Exception as exc:
        return JobResult(job.key, error=f"worker failed: {type(exc).__name__}: {exc}")
