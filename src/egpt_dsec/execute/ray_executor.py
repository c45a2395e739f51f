"""Jobs as Ray tasks, on one machine or a cluster; the job code is the same as locally.

Ray is optional: it is imported only here, when a ``RayExecutor`` is made. Every
node must have egpt-dsec installed and see the DSEC root and the output folder
at the same paths. Tasks are spread over the nodes (each brings its own disks and
network); a task whose worker dies (OOM killer, lost node) is retried by Ray on
another, and the driver's progress channel lives on the driver's own node, so
losing any other node loses no progress.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from egpt_dsec.execute.executor import QueueReporter, relay
from egpt_dsec.execute.job import SequenceJob, run_job
from egpt_dsec.execute.report import JobResult, Reporter

log = logging.getLogger(__name__)

RAY_MISSING = "--executor ray needs Ray: pip install 'egpt-dsec[ray]'"


def require_ray() -> ModuleType:
    """Import Ray, or fail with the install command (the CLI calls this before a build)."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError(RAY_MISSING) from exc
    return ray


def _run_task(job: SequenceJob, channel: Any) -> tuple[str, JobResult]:
    """The task body: the usual job, with progress sent to the driver's queue; also says
    which node ran it."""
    import ray

    return ray.get_runtime_context().get_node_id(), run_job(job, QueueReporter(channel))


class RayExecutor:
    """Runs each job as a Ray task, retried when its worker dies, progress relayed.

    Each task asks for ``num_cpus_per_job`` CPUs and its job uses that many cores.
    ``placements`` records, per job key, the node that ran it.
    """

    def __init__(
        self,
        address: str | None = None,
        num_cpus_per_job: float = 1,
        max_retries: int = 3,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.ray = require_ray()
        self.address = address
        self.num_cpus_per_job = num_cpus_per_job
        self.max_retries = max_retries
        self.init_kwargs = init_kwargs or {}
        self.placements: dict[str, str] = {}

    def run(self, jobs: Sequence[SequenceJob], reporter: Reporter) -> list[JobResult]:
        ray = self.ray
        if not jobs:
            return []
        started_here = not ray.is_initialized()
        if started_here:  # a Ray the caller set up is theirs to keep
            ray.init(address=self.address or None, **self.init_kwargs)
        try:
            return self._run(jobs, reporter)
        finally:
            if started_here:  # stops a local instance; only disconnects from a cluster
                ray.shutdown()

    def _run(self, jobs: Sequence[SequenceJob], reporter: Reporter) -> list[JobResult]:
        from ray.util.queue import Queue
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        ray = self.ray
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        channel = Queue(actor_options={"num_cpus": 0, "scheduling_strategy": here})
        task = ray.remote(_run_task)
        options = {
            "num_cpus": self.num_cpus_per_job,
            "max_retries": self.max_retries,  # a worker that dies: retry, resume from manifest
            "retry_exceptions": False,  # a job's own errors come back in its result
            "scheduling_strategy": "SPREAD",
        }
        cores = max(1, int(self.num_cpus_per_job))
        pending = {  # submitted in the given order: the driver puts the largest first
            task.options(name=f"egpt-dsec {job.key}", **options).remote(
                dataclasses.replace(job, cores=cores), channel
            ): i
            for i, job in enumerate(jobs)
        }
        results: dict[int, JobResult] = {}
        try:
            while pending:
                finished, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
                _drain(channel, reporter)  # a task's messages all precede its return
                for ref in finished:
                    i = pending.pop(ref)
                    results[i] = self._result_of(ref, jobs[i])
                    reporter.job_finished(results[i])
        finally:
            if pending:  # interrupted: stop the tasks the way Ctrl-C would, so they clean up
                for ref in pending:
                    ray.cancel(ref)
                ray.wait(list(pending), num_returns=len(pending), timeout=30)
            channel.shutdown(force=True)
        return [results[i] for i in range(len(jobs))]

    def _result_of(self, ref: Any, job: SequenceJob) -> JobResult:
        """A task that failed for good (retries used up) still yields a result, for it alone."""
        try:
            node, result = self.ray.get(ref)
            assert isinstance(result, JobResult)
        except Exception as exc:
            log.error("%s: Ray task failed", job.key, exc_info=exc)
            first_line = (str(exc).splitlines() or [""])[0]
            tries = self.max_retries + 1
            error = f"Ray gave up after {tries} attempt(s): {type(exc).__name__}: {first_line}"
            return JobResult(job.key, error=error)
        self.placements[job.key] = node
        log.debug("%s ran on node %s", job.key, node)
        return result


def _drain(channel: Any, reporter: Reporter) -> None:
    count = channel.size()
    if count:  # only the driver takes from the queue, so ``count`` items are there
        for message in channel.get_nowait_batch(count):
            relay(message, reporter)
