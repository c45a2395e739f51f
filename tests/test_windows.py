"""Windows down to 10 ms, and one window per frame: checked against windows, frames and
events computed here from the timestamps and the raw HDF5, not by the planner."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import Duration, parse_durations
from egpt_dsec.kinds import MP4, VIDEO
from egpt_dsec.kinds.mp4 import Mp4Options
from egpt_dsec.layout.output import OutputLayout
from egpt_dsec.pipeline import build
from egpt_dsec.reports.status import collect_status, format_table
from egpt_dsec.reports.verify import verify_output
from egpt_dsec.safe_npy import load_event_npy
from egpt_dsec.source.discover import SequenceSource, discover_sequences
from egpt_dsec.source.timestamps import read_timestamps
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec
from reference import reference_events

SHORT = parse_durations("10ms,20ms,50ms")
PER_FRAME = Duration.parse("50ms")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dsec")
    write_synthetic_dsec(root, SynthSpec(sequences=1, seconds=2.0, rate=4e4, frame_size=(64, 48)))
    return root


@pytest.fixture(scope="module")
def source(root: Path) -> SequenceSource:
    return discover_sequences(root)[0]


def sliding(ts: list[int], duration: Duration) -> list[tuple[int, int, int]]:
    """(index, t0, t1) of the 50%-overlap windows inside [T0, T_last], one by one."""
    found, k, stride = [], 0, duration.us // 2
    while ts[0] + k * stride + duration.us <= ts[-1]:
        found.append((k, ts[0] + k * stride, ts[0] + k * stride + duration.us))
        k += 1
    return found


def per_frame(ts: list[int], duration: Duration, sync: str) -> list[tuple[int, int, int]]:
    """(frame, t0, t1): the window before (front) or after (back) each frame, when it lies
    inside [T0, T_last]."""
    found = []
    for i, t in enumerate(ts):
        t0 = t - duration.us if sync == "front" else t
        if t0 >= ts[0] and t0 + duration.us <= ts[-1]:
            found.append((i, t0, t0 + duration.us))
    return found


def entries(config: BuildConfig, duration: Duration) -> dict[str, dict[str, object]]:
    path = OutputLayout(config.out).eventgpt_json("train", duration)
    return {item["id"]: item for item in json.loads(path.read_text())}


def assert_events(npy: Path, events_h5: Path, t0: int, t1: int) -> int:
    ref = reference_events(events_h5, t0, t1)
    data = load_event_npy(npy)
    for key in ("p", "t", "x", "y"):
        np.testing.assert_array_equal(data[key], ref[key])
    return len(ref["t"])


def test_short_windows_build_and_frameless_clips_write_events_only(
    root: Path, source: SequenceSource, tmp_path: Path
) -> None:
    config = BuildConfig(root, tmp_path / "out", durations=SHORT, workers=1)
    assert not build(config).failures
    layout, ts = config.output, read_timestamps(source.files.timestamps).tolist()
    frameless = without_mp4 = 0
    for duration in SHORT:
        items = entries(config, duration)
        for index, t0, t1 in sliding(ts, duration):
            frames = [i for i, t in enumerate(ts) if t0 <= t < t1]
            path = layout.clip_path
            npy = path(config.kinds[0], "train", duration, source.name, index)
            if not assert_events(npy, source.files.events_h5, t0, t1):
                continue
            item = items[f"{source.name}_{duration.label}_{index:06d}"]
            folder = path(VIDEO, "train", duration, source.name, index)
            mp4 = path(MP4, "train", duration, source.name, index)
            assert folder.is_dir() == bool(frames), (duration, index, frames)
            assert ("video_data" in item) == bool(frames)
            if frames:
                assert sorted(p.name for p in folder.iterdir()) == [f"{i:06d}.png" for i in frames]
            assert not mp4.exists() and "mp4_data" not in item  # under 8 frames: no MP4
            assert len(item["event_image"]) == 5
            frameless += not frames
            without_mp4 += 1
    assert frameless > 50  # 10 ms windows mostly miss the 20 Hz frames
    status = collect_status(config.out)
    assert (status.total.no_frame, status.total.no_mp4) == (frameless, without_mp4)
    assert f"{frameless:,} clips hold no frame" in format_table(status)
    assert not any(OutputLayout(config.out).videollava_json("train", d).exists() for d in SHORT)
    assert verify_output(config.out, root).ok()


@pytest.mark.parametrize("sync", ["front", "back"])
def test_per_frame_windows_are_one_entry_per_frame(
    root: Path, source: SequenceSource, tmp_path: Path, sync: str
) -> None:
    config = BuildConfig(
        root, tmp_path / sync, durations=(PER_FRAME,), windows="per-frame", sync=sync, workers=1
    )
    assert not build(config).failures
    ts = read_timestamps(source.files.timestamps).tolist()
    windows = per_frame(ts, PER_FRAME, sync)
    items = entries(config, PER_FRAME)
    layout = config.output
    assert len(windows) >= len(ts) - 3  # one per frame, but at the ends of the recording
    for frame, t0, t1 in windows:
        item = items[f"{source.name}_50ms_{frame:06d}"]
        assert (item["time_start"], item["time_end"]) == (t0, t1)
        npy = layout.clip_path(config.kinds[0], "train", PER_FRAME, source.name, frame)
        assert assert_events(npy, source.files.events_h5, t0, t1) == item["num_events"]
        meta = load_event_npy(npy)
        assert meta["image_idx"] == frame and meta["image_indices_in_clip"] == [frame]
        folder = layout.clip_path(VIDEO, "train", PER_FRAME, source.name, frame)
        assert [p.name for p in folder.iterdir()] == [f"{frame:06d}.png"]
    assert len(items) == len(windows)
    assert verify_output(config.out, root).ok()


@pytest.mark.parametrize(("mode", "workers"), [("remux", 1), ("remux", 2), ("encode", 2)])
def test_one_frame_mp4s_hold_the_frame_of_the_window(
    root: Path, source: SequenceSource, tmp_path: Path, mode: str, workers: int
) -> None:
    """Each MP4 of a front window is its own frame (at the window's end), not the one
    before, however the frames reach the encoder (remux or per clip, with or without
    threads)."""
    config = BuildConfig(
        root, tmp_path / "out", durations=(PER_FRAME,), windows="per-frame", workers=workers,
        mp4=Mp4Options(min_frames=1, mode=mode, crf=0),  # type: ignore[arg-type]
        components=("mp4", "json"),
    )  # fmt: skip
    assert not build(config).failures
    items = entries(config, PER_FRAME)
    mp4s = sorted(config.output.kind_dir("train", PER_FRAME, MP4).rglob("*.mp4"))
    assert len(mp4s) == len(items)
    frames = sorted(source.files.frames_dir.iterdir())
    for path in mp4s[::7]:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert stream.frames == 1 and len(decoded) == 1
        i = int(path.stem)
        own, before = (np.asarray(Image.open(frames[k]).convert("RGB")) for k in (i, i - 1))
        assert _distance(decoded[0], own) < _distance(decoded[0], before), path
    assert verify_output(config.out, root).ok()


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_verify_reports_files_of_a_clip_that_gets_none(
    root: Path, source: SequenceSource, tmp_path: Path
) -> None:
    """A frame folder or MP4 beside a clip that holds no frame is stale."""
    config = BuildConfig(root, tmp_path / "out", durations=SHORT[:1], workers=1)
    assert not build(config).failures
    ts = read_timestamps(source.files.timestamps).tolist()
    layout, duration = config.output, SHORT[0]
    index = next(k for k, t0, t1 in sliding(ts, duration) if not any(t0 <= t < t1 for t in ts))
    folder = layout.clip_path(VIDEO, "train", duration, source.name, index)
    shutil.copytree(next(layout.kind_dir("train", duration, VIDEO).glob("*/*")), folder)
    mp4 = layout.clip_path(MP4, "train", duration, source.name, index)
    mp4.parent.mkdir(parents=True, exist_ok=True)
    mp4.write_bytes(b"stale")
    report = verify_output(config.out)
    bad = {(p.component, p.path) for p in report.problems}
    assert (VIDEO.name, folder) in bad and (MP4.name, mp4) in bad


def test_per_frame_options_are_recorded(root: Path, tmp_path: Path) -> None:
    """Changing the window rule of an output is refused: its clip ids would mean others."""
    config = BuildConfig(
        root, tmp_path / "out", durations=(PER_FRAME,), windows="per-frame", workers=1,
        components=("event_npy", "json"),
    )  # fmt: skip
    assert not build(config).failures
    with pytest.raises(ValueError, match="windows"):
        build(replace(config, windows="sliding"))
