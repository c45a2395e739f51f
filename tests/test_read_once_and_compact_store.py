"""Read-once counters, remux MP4s, time shards and the compact event store."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from egpt_dsec import load_clip_events
from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import parse_durations
from egpt_dsec.kinds import EVENT_NPY, MP4
from egpt_dsec.kinds.mp4 import Mp4Options
from egpt_dsec.layout.dsec import SequenceFiles, sequence_folder
from egpt_dsec.layout.output import DATASET_CARD, OutputLayout
from egpt_dsec.pipeline import BuildReport, build
from egpt_dsec.safe_npy import load_event_npy
from helpers import tree_hashes

DURATIONS = parse_durations("500ms,1s,2s,4s")


@pytest.fixture(scope="module")
def npy_build(
    small_dsec: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[BuildConfig, BuildReport]:
    config = BuildConfig(
        dsec_root=small_dsec, out=tmp_path_factory.mktemp("npy"), durations=DURATIONS, workers=1
    )
    report = build(config)
    assert not report.failures
    return config, report


def test_each_event_and_frame_is_decoded_once(npy_build: tuple[BuildConfig, BuildReport]) -> None:
    _, report = npy_build
    for result in report.results:
        s = result.stats
        assert s.events_in_sequence > 0
        assert 1.0 <= s.events_decoded / s.events_in_sequence <= 1.05, result.key
        assert s.frames_decoded == s.frames_in_sequence, result.key
        assert s.frames_encoded == s.frames_decoded, result.key  # remux: one encode per frame
        assert s.events_in_clips > 2 * s.events_in_sequence  # while clips hold copies


def test_compact_store_loads_the_same_dicts(
    npy_build: tuple[BuildConfig, BuildReport], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    npy_config, _ = npy_build
    ref_config = replace(
        npy_config, out=tmp_path, event_format="ref", components=("event_npy", "json")
    )
    assert not build(ref_config).failures
    assert not list(tmp_path.rglob("*.npy"))
    checked = 0
    monkeypatch.delenv("DSEC_ROOT", raising=False)
    for duration in DURATIONS:
        items = json.loads(OutputLayout(tmp_path).eventgpt_json("train", duration).read_text())
        npy_root = OutputLayout(npy_config.out).kind_dir("train", duration, EVENT_NPY)
        for item in items:
            assert str(npy_config.dsec_root) not in json.dumps(item)  # no absolute path
            with pytest.raises(ValueError, match="DSEC_ROOT"):
                load_clip_events(item)
            expected = load_event_npy(npy_root / f"{item['sequence']}/{item['clip']}.npy")
            with monkeypatch.context() as env:
                env.setenv("DSEC_ROOT", str(npy_config.dsec_root))
                from_env = load_clip_events(item)
            for loaded in (from_env, load_clip_events(item, npy_config.dsec_root)):
                assert list(loaded) == list(expected)
                for key, value in expected.items():
                    if isinstance(value, np.ndarray):
                        assert loaded[key].dtype == value.dtype
                        np.testing.assert_array_equal(loaded[key], value)
                    else:
                        assert loaded[key] == value, key
            checked += 1
    assert checked > 20


def test_shards_do_not_change_per_clip_outputs(small_dsec: Path, tmp_path: Path) -> None:
    """In encode mode every file depends only on its clip, so shards change no byte."""
    base = BuildConfig(
        dsec_root=small_dsec, out=tmp_path / "whole", durations=DURATIONS,
        mp4=Mp4Options(mode="encode"), shard_seconds=None, workers=1,
    )  # fmt: skip
    sharded = replace(base, out=tmp_path / "sharded", shard_seconds=1.3)
    whole_report, shard_report = build(base), build(sharded)
    assert not whole_report.failures and not shard_report.failures
    assert len(shard_report.results) > len(whole_report.results)
    sharded_files, whole_files = tree_hashes(sharded.out, True), tree_hashes(base.out, True)
    assert sharded_files.pop(DATASET_CARD) != whole_files.pop(DATASET_CARD)  # it names the shards
    assert sharded_files == whole_files
    assert whole_report.totals.clips_built == shard_report.totals.clips_built


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-12)))


def _clip_psnr(mp4: Path, sources: list[Path]) -> float:
    with av.open(str(mp4)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == len(sources)
    return float(
        np.mean(
            [
                _psnr(f, np.asarray(Image.open(s).convert("RGB")))
                for f, s in zip(frames, sources, strict=True)
            ]
        )
    )


def test_remux_quality_matches_encode_mode(
    npy_build: tuple[BuildConfig, BuildReport], tmp_path: Path
) -> None:
    remux_config, _ = npy_build
    encode_config = replace(
        remux_config, out=tmp_path, components=("mp4",), mp4=Mp4Options(mode="encode")
    )
    assert not build(encode_config).failures
    source = SequenceFiles(sequence_folder(remux_config.dsec_root, "train", "synth_00"))
    frames = sorted(source.frames_dir.iterdir())
    remux_psnr, encode_psnr = [], []
    for duration in DURATIONS:
        items = json.loads(
            OutputLayout(remux_config.out).eventgpt_json("train", duration).read_text()
        )
        for item in items:
            if item["sequence"] != "synth_00":
                continue
            clip_frames = [frames[i] for i in range(*_frame_range(remux_config, item))]
            rel = item["mp4_data"]
            remux_psnr.append(
                _clip_psnr(
                    OutputLayout(remux_config.out).kind_dir("train", duration, MP4) / rel,
                    clip_frames,
                )
            )
            encode_psnr.append(
                _clip_psnr(
                    OutputLayout(tmp_path).kind_dir("train", duration, MP4) / rel,
                    clip_frames,
                )
            )
    assert len(remux_psnr) > 10
    assert np.mean(remux_psnr) > 25
    assert abs(np.mean(remux_psnr) - np.mean(encode_psnr)) <= 0.5


def _frame_range(config: BuildConfig, item: dict) -> tuple[int, int]:
    npy = OutputLayout(config.out).kind_dir(
        "train", parse_durations(item["duration"])[0], EVENT_NPY
    )
    indices = load_event_npy(npy / item["event_data"])["image_indices_in_clip"]
    return indices[0], indices[-1] + 1
