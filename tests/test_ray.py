"""Ray executor: same bytes as a local build, and a worker killed mid-job is survived."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import parse_durations
from egpt_dsec.execute.executor import LocalExecutor
from egpt_dsec.execute.ray_executor import RAY_MISSING, RayExecutor, require_ray
from egpt_dsec.execute.report import JobResult
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.pipeline import build
from helpers import RAY_ABSENT, tree_hashes

DURATIONS = parse_durations("500ms,1s,2s,4s")
VICTIM = "train/synth_00"  # the longest job (37 clips): killed after its first clip


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    """One small local Ray for the module: starting one takes seconds."""
    ray = pytest.importorskip("ray", reason=RAY_ABSENT)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


Reference = tuple[dict[str, str], list[str]]  # output hashes, result keys in order


@pytest.fixture(scope="module")
def local(small_dsec: Path, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """What Ray must reproduce: a single-process local build."""
    out = tmp_path_factory.mktemp("local")
    report = build(_config(small_dsec, out), executor=LocalExecutor(1))
    assert not report.failures, report.failures
    return tree_hashes(out), [r.key for r in report.results]


def _config(dsec_root: Path, out: Path) -> BuildConfig:
    return BuildConfig(dsec_root=dsec_root, out=out, durations=DURATIONS)


class Recorder:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.clips = 0
        self.finished: list[str] = []
        self.units = self.clips_total = self.events_total = self.events = 0

    def build_started(self, units: int, clips: int, events: int) -> None:
        self.units, self.clips_total, self.events_total = units, clips, events

    def job_started(self, key: str) -> None:
        self.started.append(key)

    def events_read(self, key: str, events: int) -> None:
        self.events += events

    def clip_done(self, key: str) -> None:
        self.clips += 1

    def job_finished(self, result: JobResult) -> None:
        self.finished.append(result.key)


def test_ray_build_is_byte_identical_to_local(
    ray_session: None, small_dsec: Path, tmp_path: Path, local: Reference
) -> None:
    hashes, keys = local
    recorder = Recorder()
    report = build(_config(small_dsec, tmp_path), executor=RayExecutor(), reporter=recorder)
    assert not report.failures, report.failures
    assert tree_hashes(tmp_path) == hashes
    assert [r.key for r in report.results] == keys  # in job order, not finishing order
    assert sorted(recorder.started) == sorted(recorder.finished) == sorted(keys)
    assert recorder.units == len(keys)
    assert recorder.clips_total == recorder.clips  # known before the first clip
    # the source events to read, from the ms index alone, match those read within 1%
    assert abs(recorder.events_total - recorder.events) <= 0.01 * recorder.events
    assert recorder.clips == report.totals.clips_built > 0


class WorkerKiller(threading.Thread):
    """SIGKILLs the Ray worker running the ``key`` job once that job has recorded a clip."""

    def __init__(self, out: Path, key: str) -> None:
        super().__init__(daemon=True)
        split, sequence = key.split("/")
        self.manifest = StateLayout(out).manifest_dir / split
        self.sequence, self.title = sequence, f"ray::egpt-dsec {key}"
        self.killed: int | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil  # vendored by Ray

        while not self.stop.wait(0.01):
            if not any(p.stat().st_size for p in self.manifest.glob(f"{self.sequence}*.jsonl")):
                continue
            for proc in psutil.Process().children(recursive=True):  # only our own Ray's
                try:
                    title = proc.cmdline()[0]
                except (psutil.Error, IndexError):
                    continue
                if title.startswith(self.title):
                    os.kill(proc.pid, signal.SIGKILL)
                    self.killed = proc.pid
                    return

    def __enter__(self) -> WorkerKiller:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join()


def test_killed_worker_is_retried_and_bytes_match(
    ray_session: None, small_dsec: Path, tmp_path: Path, local: Reference
) -> None:
    recorder = Recorder()
    with WorkerKiller(tmp_path, VICTIM) as killer:
        report = build(_config(small_dsec, tmp_path), executor=RayExecutor(), reporter=recorder)
    assert killer.killed is not None
    assert not report.failures, report.failures
    assert recorder.started.count(VICTIM) == 2  # killed mid-job, then retried
    assert recorder.finished.count(VICTIM) == 1
    assert tree_hashes(tmp_path) == local[0]


def test_out_of_retries_fails_that_job_alone_and_a_rerun_finishes(
    ray_session: None, small_dsec: Path, tmp_path: Path, local: Reference
) -> None:
    with WorkerKiller(tmp_path, VICTIM) as killer:
        report = build(_config(small_dsec, tmp_path), executor=RayExecutor(max_retries=0))
    assert killer.killed is not None
    assert [r.key for r in report.failures] == [VICTIM]
    assert "WorkerCrashedError" in (report.failures[0].error or "")
    again = build(_config(small_dsec, tmp_path), executor=RayExecutor())
    assert not again.failures, again.failures
    assert tree_hashes(tmp_path) == local[0]


def test_missing_ray_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes ``import ray`` fail
    with pytest.raises(ImportError, match="pip install 'egpt-dsec\\[ray\\]'") as info:
        require_ray()
    assert str(info.value) == RAY_MISSING
    with pytest.raises(ImportError, match="--executor ray needs Ray"):
        RayExecutor()
