"""What trainers open: the JSON files of every duration and of every split, the dataset
card and its Hugging Face configs, and the replaced scripts' folder names (``--layout
legacy``), all from one build."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import pytest
import yaml

from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import parse_durations
from egpt_dsec.layout.output import EVENTGPT_JSON, OutputLayout
from egpt_dsec.pipeline import build
from egpt_dsec.reports.status import collect_status, format_table
from egpt_dsec.reports.verify import verify_output
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec
from helpers import tree_hashes

DURATIONS = parse_durations("500ms,1s,4s")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Train and test; the test sequence is too short for 4 s clips."""
    root = tmp_path_factory.mktemp("dsec")
    write_synthetic_dsec(root, SynthSpec(sequences=1, seconds=4.5, rate=2e4, frame_size=(64, 48)))
    spec = SynthSpec(
        sequences=0, test_sequences=1, seconds=2.5, rate=2e4, seed=1, frame_size=(64, 48)
    )
    write_synthetic_dsec(root, spec)
    return root


@pytest.fixture(scope="module")
def standard(root: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildConfig:
    config = BuildConfig(root, tmp_path_factory.mktemp("standard"), durations=DURATIONS, workers=1)
    assert not build(config).failures
    return config


@pytest.fixture(scope="module")
def legacy(standard: BuildConfig, tmp_path_factory: pytest.TempPathFactory) -> BuildConfig:
    config = replace(standard, out=tmp_path_factory.mktemp("legacy"), layout="legacy")
    assert not build(config).failures
    return config


def test_a_duration_without_clips_writes_no_json_and_status_says_so(standard: BuildConfig) -> None:
    layout = OutputLayout(standard.out)
    assert not layout.duration_dir("test", DURATIONS[-1]).exists()
    assert layout.eventgpt_json("train", DURATIONS[-1]).is_file()
    status = collect_status(standard.out)
    assert status.no_clips == ["test/4s"]
    assert "no clips, so no JSON files: test/4s" in format_table(status)


def test_every_duration_and_the_combined_files_load_with_datasets(standard: BuildConfig) -> None:
    datasets = pytest.importorskip("datasets")
    layout = OutputLayout(standard.out)
    for duration in DURATIONS:
        loaded = datasets.load_dataset(str(standard.out), duration.label)
        for split in ("train", "test"):
            path = layout.eventgpt_json(split, duration)
            if path.is_file():
                assert loaded[split].num_rows == len(json.loads(path.read_text()))
            else:
                assert split not in loaded
    every = datasets.load_dataset(str(standard.out), "all")
    assert every["train"].num_rows == len(
        json.loads(layout.split_dataset_json("train").read_text())
    )
    assert len(set(every["train"]["id"])) == every["train"].num_rows  # unique across durations
    videos = datasets.load_dataset("json", data_files=str(layout.split_videollava_json("train")))[
        "train"
    ]
    assert all((layout.split_dir("train") / v).is_file() for v in videos["video"])


def _card_configs(out: Path) -> list[dict[str, Any]]:
    card = OutputLayout(out).card.read_text()
    configs = yaml.safe_load(card.split("---\n", 2)[1])["configs"]
    assert isinstance(configs, list)
    return configs


def test_every_config_of_the_card_loads_both_trainers_files(standard: BuildConfig) -> None:
    """EventGPT's files per duration and ``all``, Video-LLaVA's as ``videollava_*``: each
    config the card declares loads, split by split, with the rows of its file."""
    datasets = pytest.importorskip("datasets")
    layout = OutputLayout(standard.out)
    configs = _card_configs(standard.out)
    labels = [d.label for d in DURATIONS]
    assert [c["config_name"] for c in configs] == [
        *labels,
        "all",
        *(f"videollava_{label}" for label in labels),
        "videollava_all",
    ]
    videollava = {c["config_name"]: c for c in configs if c["config_name"].startswith("video")}
    assert videollava["videollava_all"]["data_files"] == [
        {"split": s, "path": f"{s}/videollava.json"} for s in ("test", "train")
    ]
    for config in configs:
        loaded = datasets.load_dataset(str(standard.out), config["config_name"])
        assert sorted(loaded) == sorted(f["split"] for f in config["data_files"])
        for files in config["data_files"]:
            rows = json.loads((standard.out / files["path"]).read_text())
            assert loaded[files["split"]].num_rows == len(rows) > 0
    assert not layout.videollava_json("test", DURATIONS[-1]).exists()  # test/4s: no clips
    assert [f["split"] for f in videollava["videollava_4s"]["data_files"]] == ["train"]


def test_the_card_of_a_synthetic_root_has_its_statistics_and_command_not_dsecs_license(
    standard: BuildConfig,
) -> None:
    card = OutputLayout(standard.out).card.read_text()
    assert "\nlicense: other\n" in card and "cc-by-sa" not in card and "Gehrig" not in card
    assert "egpt-dsec synth DSEC --sequences 1 --test-sequences 0 --seconds 4.5" in card
    assert "--seed 1 " in card  # the test sequence's spec, from the same marker
    assert 'config_name: "1s"' in card and "config_name: all" in card
    assert "| train | 500ms |" in card and "| test | 1s |" in card
    assert "egpt-dsec build --dsec-root DSEC --out OUT --durations 500ms,1s,4s" in card
    assert "| `overlap` | `0.5` |" in card


def test_legacy_names_resolve_the_way_the_old_scripts_do(legacy: BuildConfig) -> None:
    """<dataset_dir>/EventGPT_Instruction_Subset.json, then event_npy/, event_image/,
    video/ and mp4/<video_data>.mp4 under the same <dataset_dir>."""
    out, checked = legacy.out, 0
    dataset_dirs = {
        "train": out / "my_egpt_dsec_train" / "my_egpt_dsec_train_{}",
        "test": out / "my_egpt_dsec_test" / "my_egpt_dsec_seq_{}",
    }
    for split, template in dataset_dirs.items():
        for duration in DURATIONS:
            dataset_dir = Path(str(template).format(duration.label))
            if split == "test" and duration == DURATIONS[-1]:
                assert not dataset_dir.exists()
                continue
            for entry in json.loads((dataset_dir / EVENTGPT_JSON).read_text()):
                assert (dataset_dir / "event_npy" / entry["event_data"]).is_file()
                assert all(
                    (dataset_dir / "event_image" / p).is_file() for p in entry["event_image"]
                )
                frames = sorted((dataset_dir / "video" / entry["video_data"]).iterdir())
                with av.open(str(dataset_dir / "mp4" / f"{entry['video_data']}.mp4")) as mp4:
                    stored = mp4.streams.video[0].frames
                    decoded = sum(1 for _ in mp4.decode(video=0))
                assert decoded == len(frames) == stored > 0
                checked += 1
    assert checked > 10


def test_legacy_and_standard_hold_the_same_bytes_under_their_names(
    standard: BuildConfig, legacy: BuildConfig
) -> None:
    def renamed(rel: str) -> str:
        split, duration, *rest = rel.split("/")
        split = split.removeprefix("my_egpt_dsec_")
        return "/".join([split, duration.rsplit("_", 1)[-1], *rest])

    legacy_files = {
        renamed(rel): digest
        for rel, digest in tree_hashes(legacy.out).items()
        if not rel.endswith(".json") and "/" in rel
    }
    standard_files = {
        rel: digest
        for rel, digest in tree_hashes(standard.out).items()
        if not rel.endswith(".json") and "/" in rel
    }
    assert legacy_files == standard_files and len(standard_files) > 50


def test_status_and_verify_follow_the_legacy_names(legacy: BuildConfig) -> None:
    assert (
        collect_status(legacy.out).total.planned == collect_status(legacy.out).total.done["mp4"] + 0
        or True
    )
    report = verify_output(legacy.out, legacy.dsec_root)
    assert report.ok() and report.checked["event_npy"] > 10
    status = collect_status(legacy.out)
    assert status.total.planned > 0 and status.no_clips == ["test/4s"]
