"""DSEC-Detection's tracks.npy as input: read without pickle, checked field by field; a
malformed file fails its sequence alone (the file, the problem and the fix named), a
missing one gives the sequence no questions, and the others go on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from egpt_dsec.cli import main
from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import parse_durations
from egpt_dsec.kinds.label_qa import LabelQaOptions
from egpt_dsec.labels import TRACKS_DTYPE
from egpt_dsec.layout.dsec import SequenceFiles, sequence_folder
from egpt_dsec.pipeline import build
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.labels import read_tracks
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec

SPEC = SynthSpec(sequences=3, seconds=3.0, rate=2e4, seed=1, frame_size=(64, 48))
SPAN = (1_000_000, 2_000_000)


def good_rows(n: int = 4) -> np.ndarray:
    rows = np.zeros(n, dtype=TRACKS_DTYPE)
    rows["t"] = np.linspace(*SPAN, n).astype(np.uint64)
    rows["x"], rows["y"], rows["w"], rows["h"] = 10, 20, 30, 40
    rows["class_id"], rows["track_id"] = 2, np.arange(n)
    return rows


class Payload:
    """Unpickling this would leave a file: the loader must never run it."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (Path.touch, (Path(self.path),))


def _with(field: str, value: object) -> np.ndarray:
    rows = good_rows()
    rows[field][1] = value
    return rows


def _retyped(field: str, dtype: str) -> np.ndarray:
    rows = good_rows()
    names = [(n, dtype if n == field else rows.dtype[n].str) for n in rows.dtype.names]
    return rows.astype(names)


CORRUPT = {
    "negative width": (_with("w", -3.0), "negative size"),
    "time before the images": (_with("t", 10), "outside the sequence's images"),
    "time after the images": (_with("t", 9_000_000), "outside the sequence's images"),
    "unknown class": (_with("class_id", 9), "unknown class id 9"),
    "nan box": (_with("x", np.nan), "NaN or infinite"),
    "string width": (_retyped("w", "<U4"), "field 'w' is <U4"),
    "float time": (_retyped("t", "<f8"), "field 't' is <f8"),
    "missing field": (good_rows()[["t", "x", "y", "w", "h", "class_id"]], "no field track_id"),
    "plain array": (np.zeros((3, 4)), "not a 1-d structured array"),
}


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_a_malformed_file_is_named_with_its_problem_and_fix(name: str, tmp_path: Path) -> None:
    rows, problem = CORRUPT[name]
    path = tmp_path / "tracks.npy"
    np.save(path, rows)
    with pytest.raises(InputError) as caught:
        read_tracks(path, SPAN)
    message = str(caught.value)
    assert str(path) in message and problem in message
    assert "object_detections.zip" in message  # the fix: where the file comes from


def test_the_labels_are_never_unpickled(tmp_path: Path) -> None:
    path, planted = tmp_path / "tracks.npy", tmp_path / "ran"
    np.save(path, np.array([Payload(str(planted))], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="loading it needs pickle"):
        read_tracks(path, SPAN)
    assert not planted.exists()
    path.write_bytes(b"not an npy file at all")
    with pytest.raises(InputError, match=r"not a NumPy \.npy file"):
        read_tracks(path, SPAN)


def test_a_good_file_with_older_dtypes_and_an_image_name_reads(tmp_path: Path) -> None:
    rows = _retyped("x", "<f8")
    extra = np.zeros(len(rows), dtype=[*rows.dtype.descr, ("img_name", "<U10")])
    for name in rows.dtype.names:
        extra[name] = rows[name]
    np.save(tmp_path / "tracks.npy", extra)
    found = read_tracks(tmp_path / "tracks.npy", SPAN)
    assert found is not None and len(found) == 4
    assert read_tracks(tmp_path / "none.npy", SPAN) is None


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("label-input")
    write_synthetic_dsec(base / "dsec", SPEC)
    return base / "dsec"


def tracks_of(root: Path, sequence: str) -> Path:
    return SequenceFiles(sequence_folder(root, "train", sequence)).tracks


def test_a_malformed_labels_file_fails_its_sequence_alone(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """synth_00 keeps its labels, synth_01's are malformed, synth_02 has none."""
    dsec = tmp_path / "dsec"
    shutil.copytree(root, dsec)
    bad = tracks_of(dsec, "synth_01")
    rows = np.load(bad)
    rows["w"][3] = -1.0
    np.save(bad, rows)
    tracks_of(dsec, "synth_02").unlink()
    config = BuildConfig(dsec, tmp_path / "out", durations=parse_durations("1s"),
                         components=("event_npy", "json"))  # fmt: skip
    assert not build(config).failures
    code = main(["label-qa", "--out", str(config.out), "--dsec-root", str(dsec)])
    captured = capsys.readouterr()
    assert code == 1
    assert "sequences: 1 with labels, 1 without (no questions), 1 failed" in captured.out
    assert f"train/synth_01: {bad}: malformed labels: 1 box(es) of negative size" in captured.err
    entries = json.loads(config.output.label_qa_json("train", config.durations[0]).read_text())
    assert {e["sequence"] for e in entries} == {"synth_00"} and len(entries) > 10
    summary = json.loads(config.output.label_summary_json("train", config.durations[0]).read_text())
    assert summary["sequences_with_labels"] == ["synth_00"]
    assert summary["sequences_without_labels"] == ["synth_02"]
    assert list(summary["sequences_failed"]) == ["synth_01"]
    clips = json.loads(config.output.eventgpt_json("train", config.durations[0]).read_text())
    with_labels = sum(c["sequence"] == "synth_00" for c in clips)
    assert summary["clips_with_labels"] == summary["clips_asked"] == with_labels > 0
    assert summary["clips"] == len(clips)


def test_a_build_with_label_qa_reports_the_failed_sequence(root: Path, tmp_path: Path) -> None:
    dsec = tmp_path / "dsec"
    shutil.copytree(root, dsec)
    bad = tracks_of(dsec, "synth_00")
    rows = np.load(bad)
    rows["t"][0] = 5  # long before the first image
    np.save(bad, rows)
    config = BuildConfig(dsec, tmp_path / "out", durations=parse_durations("1s"),
                         components=("event_npy", "json", "label_qa"),
                         label_qa=LabelQaOptions(tasks=("count",)))  # fmt: skip
    report = build(config)
    assert [f.key for f in report.failures] == ["train/synth_00"]
    assert "outside the sequence's images" in (report.failures[0].error or "")
    entries = json.loads(config.output.label_qa_json("train", config.durations[0]).read_text())
    assert {e["sequence"] for e in entries} == {"synth_01", "synth_02"}
    assert {e["answer_meta"]["task"] for e in entries} == {"count"}
    assert main(["label-qa", "--out", str(config.out), "--dsec-root", str(tmp_path / "no")]) == 2
