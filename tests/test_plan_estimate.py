"""``egpt-dsec plan``: the clips exactly and the bytes within 10% of the build that follows,
from metadata alone; ``build`` refuses to start when the plan does not fit."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import pytest

from egpt_dsec.cli import main
from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import Duration, parse_durations
from egpt_dsec.humanize import format_bytes
from egpt_dsec.kinds import DEFAULT_COMPONENTS, FILE_KINDS, JSON
from egpt_dsec.kinds.contexts import CostModel, Throughput
from egpt_dsec.kinds.label_qa import LABEL_QA
from egpt_dsec.layout.output import DATASET_CARD, LABEL_FILES, OutputLayout
from egpt_dsec.layout.state import STATE_DIR
from egpt_dsec.machine import available_cores
from egpt_dsec.pipeline import build
from egpt_dsec.progress import LogProgress
from egpt_dsec.reports.plan import collect
from egpt_dsec.reports.plan.collect import estimate_build
from egpt_dsec.reports.status import collect_status
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec

DURATIONS = "500ms,1s,2s,4s"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dsec")
    spec = SynthSpec(sequences=1, test_sequences=1, seconds=6.0, rate=1e5, frame_size=(320, 240))
    write_synthetic_dsec(root, spec)
    return root


def written_bytes(out: Path) -> dict[str, int]:
    """What the build wrote, by kind: files' own bytes (linked frames share the source's)."""
    sizes = dict.fromkeys([*(k.name for k in FILE_KINDS), JSON.name], 0)
    for path in out.rglob("*"):
        rel = path.relative_to(out).parts
        if rel[0] == STATE_DIR or not path.is_file() or path.stat().st_nlink > 1:
            continue
        kind = next((k.name for k in FILE_KINDS if k.name in rel), None)
        if kind is not None:
            sizes[kind] += path.stat().st_size
        elif path.suffix == ".json":
            sizes[JSON.name] += path.stat().st_size
    return sizes


@pytest.mark.parametrize("event_format", ["npy", "ref"])
def test_the_plan_predicts_the_build(
    root: Path, tmp_path: Path, event_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["--dsec-root", str(root), "--out", str(out), "--durations", DURATIONS]
    args += ["--event-format", event_format]
    assert main(["plan", *args, "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert not out.exists()  # planning writes nothing
    durations = parse_durations(DURATIONS)
    config = BuildConfig(root, out, durations=durations, event_format=event_format, workers=1)
    assert not build(config).failures
    status = collect_status(out)
    assert plan["clips"] == status.total.planned  # exactly
    assert plan["files"] > 0 and plan["fits"] and plan["seconds"] > 0
    real = sum(written_bytes(out).values())
    assert abs(plan["bytes"] - real) <= 0.10 * real, (plan["bytes"], real)


def test_the_table_names_every_row_and_the_free_space(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--dsec-root", str(root), "--durations", "1s"]) == 0
    text = capsys.readouterr().out
    assert "train  1s" in text and "test   1s" in text and "free;" in text
    assert "about" in text and "on this machine" in text


def test_a_build_that_does_not_fit_is_refused(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(collect, "free_space", lambda out: 1_000)
    out = tmp_path / "out"
    args = ["build", "--dsec-root", str(root), "--out", str(out), "--durations", "2s"]
    args += ["--workers", "1"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "free" in err and "--no-space-check" in err and not out.exists()
    assert main([*args, "--no-space-check"]) == 0
    assert "DOES NOT FIT" in capsys.readouterr().out


def test_the_estimate_reads_metadata_only(root: Path, tmp_path: Path) -> None:
    """It opens each events file for its ms index; only the probe samples a few events."""
    config = BuildConfig(root, tmp_path / "out", durations=parse_durations(DURATIONS))
    estimate = estimate_build(config)
    assert estimate.windows == sum(r.clips + r.empty for r in estimate.rows)
    assert estimate.cores == available_cores() and estimate.workers == config.workers
    assert not (tmp_path / "out").exists()


def cpu_bound_probe(*args: object) -> tuple[CostModel, Throughput]:
    """A machine measured once, whose CPU is far slower than its disk: every plan gets the
    same numbers, and the CPU floor decides the time."""
    model = CostModel(((1_000, 2_000), (1_000_000, 90_000)), 20_000.0, 2_000.0, 50_000.0)
    return model, Throughput(1e-5, 1e-7, 0.01, 0.01, 0.01, disk_bytes_per_s=1e12)


def test_the_time_follows_the_workers_up_to_the_cores(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(collect, "probe", cpu_bound_probe)
    monkeypatch.setattr(collect, "available_cores", lambda: 2)  # a 2-core machine
    seconds, lines = {}, {}
    for workers in (1, 2, 3):
        args = ["plan", "--dsec-root", str(root), "--out", str(tmp_path / "out")]
        args += ["--durations", DURATIONS, "--workers", str(workers)]
        assert main([*args, "--format", "json"]) == 0
        plan = json.loads(capsys.readouterr().out)
        assert (plan["workers"], plan["cores"]) == (workers, 2)
        seconds[workers] = plan["seconds"]
        assert main(args) == 0
        lines[workers] = capsys.readouterr().out.splitlines()[-1]
    assert seconds[1] == pytest.approx(2 * seconds[2], rel=0.01) and seconds[2] > 10
    assert seconds[3] == seconds[2]  # a third worker finds no third core
    assert "(1 worker on 2 cores: CPU floor" in lines[1]
    assert "(2 workers on 2 cores: CPU floor" in lines[2]


def files_under(out: Path) -> int:
    """Files the build wrote: every file under OUT but its state (frame links count)."""
    count = 0
    for here, folders, files in os.walk(out):
        folders[:] = [f for f in folders if not (here == str(out) and f == STATE_DIR)]
        count += len(files)
    return count


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--event-format", "ref"],
        ["--frames", "copy"],
        ["--components", f"{','.join(DEFAULT_COMPONENTS)},label_qa", "--multiple-choice"],
    ],
    ids=["default", "ref", "frames-copy", "label-qa"],
)
def test_the_plan_counts_exactly_the_files_the_build_writes_and_prints(
    root: Path, tmp_path: Path, options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["--dsec-root", str(root), "--out", str(out), "--durations", "500ms,2s"]
    args += ["--workers", "1", *options]
    assert main(["plan", *args, "--format", "json"]) == 0
    planned = json.loads(capsys.readouterr().out)
    assert main(["build", *args]) == 0
    printed = capsys.readouterr().out
    built = re.search(r"^built .* ([\d,]+) files, ([\d,.]+ [kMGT]?B) in ", printed, re.M)
    assert built is not None, printed
    assert planned["files"] == files_under(out) == int(built[1].replace(",", ""))
    # one unit: the plan's summary (printed first) and the build's line both in decimal units
    assert re.search(r"^plan: .* files, [\d,.]+ [kMGT]?B of ", printed, re.M), printed
    assert "MiB" not in printed and "GiB" not in printed
    assert built[2] == format_bytes(sum(written_bytes(out).values()) + card_bytes(out))


def test_the_plan_counts_the_label_files_to_the_byte(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["--dsec-root", str(root), "--out", str(out), "--durations", "500ms,2s"]
    args += ["--components", "event_npy,label_qa", "--multiple-choice", "--workers", "1"]
    assert main(["plan", *args, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert main(["build", *args]) == 0
    layout = OutputLayout(out)
    for row in rows:
        folder = layout.duration_dir(row["split"], Duration.parse(row["duration"]))
        written = [folder / name for name in LABEL_FILES if (folder / name).is_file()]
        assert len(written) == 3 == row["files"][LABEL_QA.name], row
        assert row["bytes"][LABEL_QA.name] == sum(p.stat().st_size for p in written) > 0


def card_bytes(out: Path) -> int:
    return (out / DATASET_CARD).stat().st_size


def test_progress_logs_whole_counts_with_separators(caplog: pytest.LogCaptureFixture) -> None:
    progress = LogProgress(every=0.0)
    with caplog.at_level(logging.INFO, logger="egpt_dsec.progress"):
        progress.build_started(12, 11_569, 3_990_000)
        progress.events_read("train/a", 1_234_567)
    first, second = caplog.messages
    assert first == "building 12 work units: 11,569 clips, 3,990,000 source events"
    assert "0/12 units, 0/11,569 clips, 1,234,567/3,990,000 events (" in second
    assert "e+" not in first + second
