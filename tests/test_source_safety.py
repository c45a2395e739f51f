"""The DSEC root is never touched, and a root one level off is named, not misread."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from egpt_dsec.cli import main
from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import parse_durations
from egpt_dsec.errors import OutputError
from egpt_dsec.kinds.mp4 import Mp4Options
from egpt_dsec.kinds.video import FrameFolderOptions
from egpt_dsec.layout.dsec import sequence_folder, split_folder
from egpt_dsec.pipeline import build
from egpt_dsec.reports.verify import fix_output, verify_output
from egpt_dsec.source.errors import InputError
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec
from helpers import input_tree

DURATIONS = parse_durations("500ms,1s")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dsec")
    spec = SynthSpec(sequences=1, test_sequences=1, seconds=2.0, rate=2e4, frame_size=(64, 48))
    write_synthetic_dsec(root, spec)
    return root


def test_every_kind_of_build_and_a_fix_leave_the_input_unchanged(
    root: Path, tmp_path: Path
) -> None:
    before = input_tree(root)
    base = BuildConfig(dsec_root=root, out=tmp_path / "out", durations=DURATIONS, workers=1)
    configs = [
        base,
        replace(base, out=tmp_path / "ref", event_format="ref"),
        replace(
            base,
            out=tmp_path / "encode",
            mp4=Mp4Options(mode="encode"),
            video=FrameFolderOptions(frames="copy"),
        ),
        replace(base, out=tmp_path / "symlink", video=FrameFolderOptions(frames="symlink")),
        replace(base, out=tmp_path / "legacy", layout="legacy", shard_seconds=0.7, workers=2),
    ]
    for config in configs:
        assert not build(config).failures
    # damage a frame link of the hard-linked output, then verify --fix and rebuild
    frame = next((base.out / "train" / "1s" / "video").rglob("*.png"))
    frame.unlink()
    report = verify_output(base.out, root)
    assert not report.ok()
    fix_output(base.out, report)
    assert not build(base).failures
    assert verify_output(base.out, root).ok()
    assert input_tree(root) == before


@pytest.mark.parametrize("where", ["equal", "inside", "around"])
def test_an_output_inside_equal_to_or_around_the_root_is_refused(
    root: Path, tmp_path: Path, where: str
) -> None:
    copy = tmp_path / "dsec"
    shutil.copytree(root, copy)
    out = {"equal": copy, "inside": copy / "train" / "out", "around": tmp_path}[where]
    before = input_tree(copy)
    with pytest.raises(OutputError, match="DSEC root"):
        build(BuildConfig(dsec_root=copy, out=out, durations=DURATIONS))
    assert input_tree(copy) == before  # nothing created, not even the state folder
    assert not (out / ".egpt-dsec").exists()


def _refusal(dsec_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    out = tmp_path / "out"
    code = main(["build", "--dsec-root", str(dsec_root), "--out", str(out)])
    assert code == 2 and not out.exists()  # nothing written before the root validates
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_a_split_folder_names_its_parent(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refusal(split_folder(root, "train"), tmp_path, capsys)
    assert "this is a split folder" in err and f"pass its parent, {root}" in err


def test_a_sequence_folder_names_the_root(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refusal(sequence_folder(root, "train", "synth_00"), tmp_path, capsys)
    assert "this is one sequence" in err and f"pass the DSEC root, {root}" in err


def test_the_folder_above_the_root_names_the_root(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    above = tmp_path / "downloads"
    above.mkdir()
    os.symlink(root, above / "DSEC")
    err = _refusal(above, tmp_path, capsys)
    assert f"one level down: pass {above / 'DSEC'}" in err


def test_an_empty_folder_says_what_a_root_holds(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no DSEC sequences found") as info:
        build(BuildConfig(dsec_root=tmp_path / "empty", out=tmp_path / "out"))
    assert "images/timestamps.txt" in str(info.value) and not (tmp_path / "out").exists()
