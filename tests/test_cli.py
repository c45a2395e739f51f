"""The command line: one clear line per error, no traceback, right exit codes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from egpt_dsec import __version__
from egpt_dsec.cli import main
from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import parse_durations
from egpt_dsec.machine import available_cores
from egpt_dsec.pipeline import build
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildConfig:
    root = tmp_path_factory.mktemp("dsec")
    write_synthetic_dsec(root, SynthSpec(sequences=1, seconds=1.5, rate=1e4, frame_size=(32, 24)))
    out = tmp_path_factory.mktemp("out")
    config = BuildConfig(root, out, durations=parse_durations("500ms"), workers=1)
    assert not build(config).failures
    return config


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"egpt-dsec {__version__}"


def test_a_missing_questions_file_is_one_line(
    built: BuildConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["build", "--dsec-root", str(built.dsec_root), "--out", str(tmp_path / "o")]
    assert main([*args, "--questions", str(tmp_path / "nope.txt")]) == 2
    assert "nope.txt" in one_line_error(capsys)


def test_a_bad_option_value_is_one_line(
    built: BuildConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["build", "--dsec-root", str(built.dsec_root), "--out", "x", "--crf", "lots"])
    assert info.value.code == 2
    assert "--crf" in one_line_error(capsys)


@pytest.mark.parametrize("command", ["status", "verify"])
def test_a_folder_without_a_build_is_an_error(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--out", str(tmp_path)]) == 2
    assert "no egpt-dsec build" in one_line_error(capsys)


class ClosedPipe:
    """A stdout whose reader went away (``egpt-dsec status | head``)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_status_into_a_closed_pipe_is_quiet(
    built: BuildConfig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["status", "--out", str(built.out), "--format", "json"]) == 141
    assert capsys.readouterr().err == ""


def test_every_build_option_shows_its_default_and_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["build", "-h"])
    text = " ".join(capsys.readouterr().out.split())
    for flag in ("--dsec-root", "--out", "--crf", "--layout", "--event-format", "--durations"):
        assert flag in text
    assert "default: 28" in text and "e.g. --crf 23" in text
    assert "e.g. --dsec-root /data/DSEC" in text


def test_workers_default_to_the_cores_this_process_may_use(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert BuildConfig(Path("dsec"), Path("out")).workers == available_cores() >= 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert available_cores() == 3  # a cpuset or taskset: its cores, not the machine's
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert available_cores() == 8  # no affinity call (macOS): every core
    with pytest.raises(SystemExit):
        main(["build", "-h"])
    text = " ".join(capsys.readouterr().out.split())
    assert "default: the cores this process may use" in text
