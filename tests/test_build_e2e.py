"""End to end: build a small DSEC root and check every output against slow references."""

from __future__ import annotations

import json
import os
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import parse_durations
from egpt_dsec.kinds import EVENT_IMAGE, EVENT_NPY, MP4, VIDEO
from egpt_dsec.kinds.event_image import EventImageOptions
from egpt_dsec.layout.output import OutputLayout
from egpt_dsec.pipeline import build
from egpt_dsec.plan.clips import plan_windows
from egpt_dsec.reports.status import collect_status
from egpt_dsec.source.discover import discover_sequences
from egpt_dsec.source.timestamps import read_timestamps
from helpers import tree_hashes
from reference import reference_events, reference_image, reference_parts

DURATIONS = parse_durations("500ms,1s,2s,4s")
KEYS = ["p", "t", "x", "y", "time_start", "time_end", "duration_ms", "image_timestamp",
        "image_idx", "image_indices_in_clip", "num_events"]  # fmt: skip


@pytest.fixture(scope="module")
def built(small_dsec: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildConfig:
    config = BuildConfig(
        dsec_root=small_dsec, out=tmp_path_factory.mktemp("out"), durations=DURATIONS, workers=1
    )
    report = build(config)
    assert not report.failures, report.failures
    return config


def test_every_clip_matches_the_references(built: BuildConfig) -> None:
    layout = OutputLayout(built.out)
    checked_events = checked_empty = 0
    for source in discover_sequences(built.dsec_root):
        ts = read_timestamps(source.files.timestamps)
        frame_names = sorted(p.name for p in source.files.frames_dir.iterdir())
        with Image.open(source.files.frames_dir / frame_names[0]) as im:
            size = (im.width // 2 * 2, im.height // 2 * 2)
        for duration in DURATIONS:
            for clip in plan_windows(ts, duration, 0.5):
                ref = reference_events(source.files.events_h5, clip.t0, clip.t1)
                n = len(ref["t"])
                npy = layout.clip_path(EVENT_NPY, source.split, duration, source.name, clip.index)
                mp4 = layout.clip_path(MP4, source.split, duration, source.name, clip.index)
                video = layout.clip_path(VIDEO, source.split, duration, source.name, clip.index)
                if n == 0:
                    assert not npy.exists() and not mp4.exists() and not video.exists()
                    checked_empty += 1
                    continue
                # the .npy, loaded exactly the way EventGPT loads it
                data = np.array(np.load(npy, allow_pickle=True)).item()
                assert list(data) == KEYS
                for key in ("p", "t", "x", "y"):
                    assert data[key].dtype == ref[key].dtype
                    np.testing.assert_array_equal(data[key], ref[key])
                frames = [i for i, t in enumerate(ts) if clip.t0 <= t < clip.t1]
                assert (data["time_start"], data["time_end"]) == (clip.t0, clip.t1)
                assert data["image_timestamp"] == clip.t1
                assert data["duration_ms"] == duration.ms
                assert data["num_events"] == n
                assert list(data["image_indices_in_clip"]) == frames
                # event images, pixel for pixel against the per-event loop
                for part, (a, b) in enumerate(reference_parts(n, 5)):
                    png = layout.clip_path(
                        EVENT_IMAGE, source.split, duration, source.name, clip.index, part
                    )
                    expected = reference_image(ref["x"][a:b], ref["y"][a:b], ref["p"][a:b], "last")
                    np.testing.assert_array_equal(np.asarray(Image.open(png)), expected)
                assert not layout.clip_path(
                    EVENT_IMAGE, source.split, duration, source.name, clip.index, 5
                ).exists()
                # frame folder: the original frames, linked, under their own names
                assert sorted(p.name for p in video.iterdir()) == [frame_names[i] for i in frames]
                for i in frames:
                    assert os.path.samefile(
                        video / frame_names[i], source.files.frames_dir / frame_names[i]
                    )
                # the MP4 decodes back to exactly those frames
                with av.open(str(mp4)) as container:
                    stream = container.streams.video[0]
                    decoded = list(container.decode(stream))
                    assert stream.codec_context.name == "h264"
                    assert stream.frames == len(frames)
                assert len(decoded) == len(frames) >= 8
                assert (decoded[0].width, decoded[0].height) == size
                checked_events += 1
    assert checked_events > 20
    assert checked_empty > 0  # the real sample has gaps between its windows


def test_json_paths_exist_and_follow_eventgpt(built: BuildConfig) -> None:
    """Per duration, paths relative to each kind's folder (EventGPT's convention); per
    split, one file over all durations with paths relative to the split folder."""
    layout = OutputLayout(built.out)
    split_ids: list[str] = []
    for duration in DURATIONS:
        base = layout.duration_dir("train", duration)
        items = json.loads(layout.eventgpt_json("train", duration).read_text())
        ids = [item["id"] for item in items]
        assert len(ids) == len(set(ids)) > 0
        for item in items:
            assert (base / "event_npy" / item["event_data"]).is_file()
            assert all((base / "event_image" / p).is_file() for p in item["event_image"])
            assert (base / "video" / item["video_data"]).is_dir()
            assert (base / "mp4" / item["mp4_data"]).is_file()
            human, gpt = item["conversations"]
            assert human["from"] == "human" and human["value"].startswith("<event>\n")
            assert gpt == {"from": "gpt", "value": ""}
        videollava = json.loads(layout.videollava_json("train", duration).read_text())
        assert [v["id"] for v in videollava] == ids
        for v in videollava:
            assert (base / "mp4" / v["video"]).is_file()
            assert v["conversations"][0]["value"].startswith("<video>\n")
        split_ids += ids
    split = layout.split_dir("train")
    combined = json.loads(layout.split_dataset_json("train").read_text())
    assert [item["id"] for item in combined] == split_ids  # by duration, then sequence
    assert len(set(split_ids)) == len(split_ids)
    for item in combined:
        assert (split / item["event_data"]).is_file()
        assert item["event_data"].startswith(f"{item['duration']}/event_npy/")
        assert all((split / p).is_file() for p in item["event_image"])
        assert (split / item["video_data"]).is_dir()
    combined_videos = json.loads(layout.split_videollava_json("train").read_text())
    assert [v["id"] for v in combined_videos] == split_ids
    assert all((split / v["video"]).is_file() for v in combined_videos)


def test_status_is_complete(built: BuildConfig) -> None:
    status = collect_status(built.out)
    assert status.total.planned > 0
    for row in status.rows:
        for component, done in row.done.items():
            assert done == row.planned, (row, component)
    assert status.running == []


def test_second_build_skips_everything_and_changes_nothing(built: BuildConfig) -> None:
    before = tree_hashes(built.out)
    mtimes = {p: p.stat().st_mtime_ns for p in built.out.rglob("*") if p.is_file()}
    report = build(built)
    t = report.totals
    assert t.clips_built == 0 and t.clips_skipped == t.clips_planned > 0
    assert t.events_decoded == 0 and t.frames_decoded == 0
    assert tree_hashes(built.out) == before
    changed = [
        p for p, m in mtimes.items()
        if p.stat().st_mtime_ns != m and ".egpt-dsec" not in p.parts and p.suffix != ".json"
    ]  # fmt: skip
    assert changed == []


def test_two_workers_give_identical_bytes(built: BuildConfig, tmp_path: Path) -> None:
    other = BuildConfig(
        dsec_root=built.dsec_root, out=tmp_path / "out", durations=DURATIONS, workers=2
    )
    assert not build(other).failures
    assert tree_hashes(other.out, card=True) == tree_hashes(built.out, card=True)


@pytest.mark.parametrize("style", ["red", "blue", "gray"])
def test_image_styles_are_pixel_exact(small_dsec: Path, tmp_path: Path, style: str) -> None:
    config = BuildConfig(
        dsec_root=small_dsec, out=tmp_path, durations=parse_durations("500ms"),
        sequences=("interlaken_00_d",), components=("event_image",),
        event_image=EventImageOptions(count=2, style=style),  # type: ignore[arg-type]
        workers=1,
    )  # fmt: skip
    assert not build(config).failures
    layout = OutputLayout(tmp_path)
    source = discover_sequences(small_dsec, sequences=("interlaken_00_d",))[0]
    checked = 0
    for clip in plan_windows(read_timestamps(source.files.timestamps), config.durations[0], 0.5):
        ref = reference_events(source.files.events_h5, clip.t0, clip.t1)
        for part, (a, b) in enumerate(reference_parts(len(ref["t"]), 2) if len(ref["t"]) else []):
            png = layout.clip_path(
                EVENT_IMAGE, "train", config.durations[0], source.name, clip.index, part
            )
            expected = reference_image(ref["x"][a:b], ref["y"][a:b], ref["p"][a:b], style)
            np.testing.assert_array_equal(np.asarray(Image.open(png)), expected)
            checked += 1
    assert checked >= 4
