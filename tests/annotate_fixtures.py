"""A tiny built dataset for the annotate tests, and helpers to run the command.

One synthetic 3 s sequence with 64x48 frames, built at 1s and 2s (5 + 2 clips),
once per session however many modules ask; each test annotates its own copy.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from egpt_dsec.annotate.cli import add_annotate_arguments, run_annotate
from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import parse_durations
from egpt_dsec.layout.output import EVENTGPT_JSON, VIDEOLLAVA_JSON
from egpt_dsec.pipeline import build
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec
from fake_vlm_server import SERVED_MODEL

CLIPS = {("train", "1s"): 5, ("train", "2s"): 2}
_built: dict[str, Path] = {}


def built_output(factory: pytest.TempPathFactory) -> Path:
    """The built output folder, made on first use in this session (do not modify it)."""
    if "out" not in _built:
        root = factory.mktemp("annotate-build")
        spec = SynthSpec(sequences=1, seconds=3.0, rate=2e4, seed=5, frame_size=(64, 48))
        write_synthetic_dsec(root / "dsec", spec)
        durations = parse_durations("1s,2s")
        report = build(BuildConfig(root / "dsec", root / "out", durations=durations, workers=1))
        assert not report.failures, report.failures
        _built["out"] = root / "out"
    return _built["out"]


def output_copy(factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """A private copy of the built output (annotating rewrites its JSON files)."""
    copy = tmp_path / "out"
    shutil.copytree(built_output(factory), copy, symlinks=True)
    return copy


def annotate_args(out: Path, *extra: str, endpoint: str | None = None) -> list[str]:
    args = ["--out", str(out), "--model", SERVED_MODEL]
    if endpoint is not None:
        args += ["--endpoint", endpoint]
    return args + list(extra)


def run_cli(argv: list[str]) -> int:
    """The annotate command in this process, through a parser like the main CLI's."""
    parser = argparse.ArgumentParser(prog="egpt-dsec annotate")
    add_annotate_arguments(parser)
    return run_annotate(parser.parse_args(argv))


def start_cli(argv: list[str]) -> subprocess.Popen[bytes]:
    """The annotate command in a child process (so it can be killed)."""
    return subprocess.Popen(
        [sys.executable, "-m", "egpt_dsec.annotate", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def json_files(out: Path) -> dict[str, bytes]:
    """The trainers' JSON files (not the provenance), by path under OUT."""
    files = sorted(out.glob(f"*/*/{EVENTGPT_JSON}")) + sorted(out.glob(f"*/*/{VIDEOLLAVA_JSON}"))
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in files}
