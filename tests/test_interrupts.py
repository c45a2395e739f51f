"""Clean stops (SIGINT, SIGTERM, a full disk), the output lock, and option changes."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from egpt_dsec.config import BuildConfig
from egpt_dsec.config.record import OptionsChangedError
from egpt_dsec.durations import parse_durations
from egpt_dsec.errors import OutputError
from egpt_dsec.fs import is_temp_name
from egpt_dsec.kinds.event_image import EventImageOptions
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.pipeline import build
from egpt_dsec.state.lock import OutputLockedError, output_lock
from egpt_dsec.state.manifest import Manifest
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec
from helpers import copy_build, tree_hashes

DURATIONS = parse_durations("500ms,1s,2s")


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if is_temp_name(p.name)]


@pytest.fixture(scope="module")
def slow_dsec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two sequences big enough that a build takes a few seconds."""
    root = tmp_path_factory.mktemp("slow")
    write_synthetic_dsec(
        root, SynthSpec(sequences=2, seconds=8, rate=3e5, seed=5, frame_size=(160, 120))
    )
    return root


@pytest.fixture(scope="module")
def clean_build(slow_dsec: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildConfig:
    config = BuildConfig(
        dsec_root=slow_dsec, out=tmp_path_factory.mktemp("clean"), durations=DURATIONS, workers=1
    )
    assert not build(config).failures
    return config


def _cli_build(
    dsec: Path, out: Path, workers: int, *extra: str, group: bool = False
) -> subprocess.Popen[str]:
    """The CLI build; ``group`` starts it in its own process group, as a shell job is
    (Ctrl-C then goes to the driver and every worker)."""
    args = [sys.executable, "-m", "egpt_dsec", "build", "--dsec-root", str(dsec), "--out", str(out),
            "--durations", "500ms,1s,2s", "--workers", str(workers), *extra]  # fmt: skip
    return subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=group
    )


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ctrl_c_with_two_workers_stops_every_worker_within_5_s(
    clean_build: BuildConfig, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    proc = _cli_build(clean_build.dsec_root, out, 2, group=True)
    _wait_for_progress(out, proc)
    stopped_at = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, stderr = proc.communicate(timeout=60)
    while _group_alive(proc.pid) and time.monotonic() - stopped_at < 30:
        time.sleep(0.05)
    elapsed = time.monotonic() - stopped_at
    if proc.returncode == 0:
        pytest.skip("the build finished before the signal arrived")
    assert proc.returncode == 130, stderr
    assert elapsed < 5.0, f"workers took {elapsed:.1f} s to stop"
    assert stderr.count("stopping:") == 1 and "run the same command again" in stderr
    assert "Traceback" not in stderr
    assert temp_files(out) == []
    assert not build(replace(clean_build, out=out)).failures
    assert tree_hashes(out) == tree_hashes(clean_build.out)


def test_a_second_ctrl_c_exits_at_once(clean_build: BuildConfig, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _cli_build(clean_build.dsec_root, out, 2, group=True)
    _wait_for_progress(out, proc)
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(0.05)
    second = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the build finished before the signal arrived")
    # 130, or killed by the signal itself when it lands while Python exits (a shell shows
    # both as 130)
    assert proc.returncode in (130, -signal.SIGINT) and time.monotonic() - second < 2.0
    assert "stopped at once" in stderr or "run the same command again" in stderr
    deadline = time.monotonic() + 10
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _group_alive(proc.pid)  # the workers went too
    assert not build(replace(clean_build, out=out)).failures  # the next run cleans up
    assert temp_files(out) == []
    assert tree_hashes(out) == tree_hashes(clean_build.out)


def _wait_for_progress(out: Path, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Wait until at least one clip is recorded, so the stop lands mid-build."""
    deadline = time.monotonic() + timeout
    manifests = StateLayout(out).manifest_dir
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.stat().st_size for p in manifests.rglob("*.jsonl")):
            return
        time.sleep(0.02)
    pytest.fail("the build recorded no clip before the deadline")


@pytest.mark.parametrize(("sig", "workers"), [(signal.SIGINT, 1), (signal.SIGTERM, 2)])
def test_signal_stops_cleanly_and_resume_matches(
    clean_build: BuildConfig, tmp_path: Path, sig: int, workers: int
) -> None:
    out = tmp_path / "out"
    proc = _cli_build(clean_build.dsec_root, out, workers)
    _wait_for_progress(out, proc)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the build finished before the signal arrived")
    assert proc.returncode == 130, stderr
    assert "run the same command again to resume" in stderr
    assert temp_files(out) == []
    assert not list(StateLayout(out).running_dir.glob("*.json"))
    recorded = [
        r for records in Manifest(StateLayout(out)).all_records().values()
        for r in records.values() if "event_image" in r.components
    ]  # fmt: skip
    assert recorded
    resumed = build(replace(clean_build, out=out))
    assert not resumed.failures
    all_images = len(list(clean_build.out.rglob("event_image/*/*.png")))
    kept = sum(r.parts for r in recorded if not r.empty)
    assert resumed.totals.images_written == all_images - kept  # finished clips are not redone
    assert tree_hashes(out) == tree_hashes(clean_build.out)


def test_second_build_on_same_output_is_refused(clean_build: BuildConfig) -> None:
    with (
        output_lock(StateLayout(clean_build.out)),
        pytest.raises(OutputLockedError) as info,
    ):
        build(clean_build)
    assert "another build is writing" in str(info.value)
    assert not build(clean_build).failures  # the lock is free again


def test_lock_of_a_killed_build_is_released(clean_build: BuildConfig) -> None:
    code = (
        "import os; from pathlib import Path; from egpt_dsec.state.lock import output_lock\n"
        "from egpt_dsec.layout.state import StateLayout\n"
        f"with output_lock(StateLayout(Path({str(clean_build.out)!r}))): os.kill(os.getpid(), 9)"
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    assert not build(clean_build).failures


def test_full_disk_stops_cleanly_and_resumes(
    clean_build: BuildConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import egpt_dsec.writers.png as event_image

    real_save = event_image.save_png
    calls = {"n": 0}

    def save_until_full(path: Path, *args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] > 40:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_save(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("egpt_dsec.kinds.event_image.save_png", save_until_full)
    config = replace(clean_build, out=tmp_path / "out")
    report = build(config)
    assert report.failures
    assert all("output disk is full" in f.error and "re-run" in f.error for f in report.failures)  # type: ignore[operator]
    assert temp_files(config.out) == []
    monkeypatch.undo()
    assert not build(config).failures
    assert tree_hashes(config.out) == tree_hashes(clean_build.out)


def test_changed_options_are_refused_or_rebuilt(clean_build: BuildConfig, tmp_path: Path) -> None:
    changed = replace(
        copy_build(clean_build, tmp_path / "out"), event_image=EventImageOptions(count=3)
    )
    with pytest.raises(OptionsChangedError) as info:
        build(changed)
    assert "event_image" in str(info.value) and "count: 5 -> 3" in str(info.value)
    report = build(changed, rebuild_changed=True)
    assert not report.failures and report.totals.clips_built > 0
    assert report.totals.images_written > 0
    reference = replace(changed, out=tmp_path / "fresh")
    assert not build(reference).failures
    fresh, rebuilt = tree_hashes(reference.out), tree_hashes(changed.out)
    stale_images = {k for k in set(rebuilt) - set(fresh) if "event_image" in k}
    assert {k: v for k, v in rebuilt.items() if k not in stale_images} == fresh


def test_unwritable_output_is_a_clear_error(clean_build: BuildConfig, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(OutputError, match="cannot write to the output folder"):
        build(replace(clean_build, out=blocker / "out"))
    if os.geteuid() != 0:  # root ignores permissions
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(OutputError):
            build(replace(clean_build, out=locked))
