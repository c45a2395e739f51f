"""Ray on several nodes (a head and two workers on this machine, each its own raylet
with 1 CPU): the build spreads over the nodes, a node lost mid-build has its task run
again elsewhere, and the bytes are those of a local build."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import parse_durations
from egpt_dsec.execute.executor import LocalExecutor
from egpt_dsec.execute.ray_executor import RayExecutor
from egpt_dsec.execute.report import NullReporter
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.pipeline import build
from helpers import RAY_ABSENT, tree_hashes

DURATIONS = parse_durations("500ms,1s,2s,4s")
LOCALHOST = {"node_ip_address": "127.0.0.1", "num_cpus": 1}
# Lost nodes are noticed in a few seconds, not the default ~30.
FAST_FAILURE = {
    "health_check_initial_delay_ms": 1000,
    "health_check_period_ms": 1000,
    "health_check_failure_threshold": 3,
}


def _config(dsec_root: Path, out: Path) -> BuildConfig:
    """2 s shards: four jobs, more than the nodes."""
    return BuildConfig(dsec_root=dsec_root, out=out, durations=DURATIONS, shard_seconds=2.0)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    ray = pytest.importorskip("ray", reason=RAY_ABSENT)
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    head = {**LOCALHOST, "include_dashboard": False, "_system_config": FAST_FAILURE}
    with pytest.MonkeyPatch.context() as patch:
        # Ray turns 127.0.0.1 into the machine's address when it connects; with this
        # (read at each call, and by the processes it starts) it stays on the loopback.
        patch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)
        patch.setenv(ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR, "0")
        nodes = Cluster(initialize_head=True, head_node_args=head)
        try:
            for _ in range(2):
                nodes.add_node(**LOCALHOST)
            nodes.wait_for_nodes()
            ray.init(address=nodes.address, log_to_driver=False)
            yield nodes
        finally:
            ray.shutdown()
            nodes.shutdown()


@pytest.fixture(scope="module")
def local(small_dsec: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("local")
    assert not build(_config(small_dsec, out), executor=LocalExecutor(1)).failures
    return tree_hashes(out)


class Starts(NullReporter):
    def __init__(self) -> None:
        self.started: list[str] = []

    def job_started(self, key: str) -> None:
        self.started.append(key)


def test_build_spreads_over_the_nodes(
    cluster: Any, small_dsec: Path, tmp_path: Path, local: dict[str, str]
) -> None:
    executor = RayExecutor()
    report = build(_config(small_dsec, tmp_path), executor=executor)
    assert not report.failures, report.failures
    assert len(report.results) == 4
    nodes = {n["NodeID"] for n in cluster.global_state.node_table() if n["Alive"]}
    assert set(executor.placements.values()) == nodes and len(nodes) == 3
    assert tree_hashes(tmp_path) == local


class NodeRemover(threading.Thread):
    """Removes ``node`` while a job running there is mid-way: it has recorded a clip and
    not ended. The job's worker is frozen first, so it cannot end between the check
    and the removal (a job unlinks its running marker before it returns)."""

    def __init__(self, cluster: Any, node: Any, out: Path) -> None:
        super().__init__(daemon=True)
        self.cluster, self.node, self.state = cluster, node, StateLayout(out)
        self.victim: str | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil  # vendored by Ray

        raylet = psutil.Process(self.node.all_processes["raylet"][0].process.pid)
        deadline = time.monotonic() + 120
        while not self.stop.wait(0.01) and time.monotonic() < deadline:
            for worker in _children(raylet):
                key = _job_of(worker)
                if key is not None and self._cut_short(worker, key):
                    return

    def _cut_short(self, worker: Any, key: str) -> bool:
        """Freeze ``worker``; if its job is mid-way, remove the node, else let it run."""
        import psutil

        try:
            worker.suspend()
        except psutil.Error:
            return False
        if not (self._recorded(key) and self._running(key)):
            with contextlib.suppress(psutil.Error):
                worker.resume()
            return False
        self.victim = key
        self.cluster.remove_node(self.node, allow_graceful=False)
        with contextlib.suppress(psutil.Error):
            worker.kill()  # gone with its node, frozen or not
        return True

    def _recorded(self, key: str) -> bool:
        path = self.state.manifest_file(*_unit_of(key))
        return path.is_file() and path.stat().st_size > 0

    def _running(self, key: str) -> bool:
        return self.state.running_marker(*_unit_of(key)).is_file()

    def __enter__(self) -> NodeRemover:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join()


def _unit_of(key: str) -> tuple[str, str, str]:
    """(split, sequence, shard) of a job key ``split/sequence@shard``."""
    split, unit = key.split("/")
    sequence, _, shard = unit.partition("@")
    return split, sequence, shard


def _children(process: Any) -> list[Any]:
    import psutil

    try:
        return list(process.children(recursive=True))
    except psutil.Error:
        return []


def _job_of(process: Any) -> str | None:
    """The job key in a Ray worker's title (``ray::egpt-dsec train/seq@001``), if any."""
    import psutil

    try:
        title = process.cmdline()[0]
    except (psutil.Error, IndexError):
        return None
    prefix = "ray::egpt-dsec "
    return title[len(prefix) :].split()[0] if title.startswith(prefix) else None


def test_a_lost_node_has_its_job_run_elsewhere(
    cluster: Any, small_dsec: Path, tmp_path: Path, local: dict[str, str]
) -> None:
    doomed = cluster.add_node(**LOCALHOST)  # a fourth node, so every test sees three
    cluster.wait_for_nodes()
    starts = Starts()
    with NodeRemover(cluster, doomed, tmp_path) as remover:
        report = build(_config(small_dsec, tmp_path), executor=RayExecutor(), reporter=starts)
    assert remover.victim is not None, "no job ran on the node to remove"
    assert not report.failures, report.failures
    assert starts.started.count(remover.victim) == 2  # cut short with its node, then rerun
    assert tree_hashes(tmp_path) == local
