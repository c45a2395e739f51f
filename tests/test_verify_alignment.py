"""verify on a build with --rectify-events and --frames-view event: a clean build passes;
unrectified events, a wrong kept frame and a frame of the camera's size are each caught,
and --fix plus the same build bring the clean bytes back."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import parse_durations
from egpt_dsec.kinds import EVENT_NPY, VIDEO
from egpt_dsec.layout.dsec import sequence_folder
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.pipeline import build
from egpt_dsec.reports.verify import fix_output, verify_output
from egpt_dsec.source.frames import decode_frame
from egpt_dsec.state.manifest import Manifest
from egpt_dsec.synth.real import write_replayed_sequence
from egpt_dsec.writers.png import png_bytes
from helpers import copy_build, tree_hashes

SPLIT, SEQUENCE = "train", "replayed_00"
DURATIONS = parse_durations("500ms,1s")


@pytest.fixture(scope="module")
def dsec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real events (raw pixels, so rectification drops some) with a synthetic camera pair."""
    root = tmp_path_factory.mktemp("dsec_aligned")
    write_replayed_sequence(sequence_folder(root, SPLIT, SEQUENCE), 2.0, (320, 240), rate=3e5)
    return root


@pytest.fixture(scope="module")
def clean(dsec: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildConfig:
    config = BuildConfig(
        dsec_root=dsec,
        out=tmp_path_factory.mktemp("aligned"),
        durations=DURATIONS,
        rectify_events=True,
        frames_view="event",
        workers=1,
    )
    assert not build(config).failures
    return config


@pytest.fixture
def copy(clean: BuildConfig, tmp_path: Path) -> BuildConfig:
    return copy_build(clean, tmp_path / "out")


def records(config: BuildConfig) -> list:
    found = Manifest(StateLayout(config.out)).sequence_records(SPLIT, SEQUENCE)
    return sorted(found.values(), key=lambda r: (r.duration, r.clip))


def kept_frame(config: BuildConfig, index: int) -> Path:
    return config.output.event_view_frames(SPLIT, SEQUENCE, index + 1)[index]


def test_a_clean_aligned_build_passes_and_dropped_events_are_recorded(clean: BuildConfig) -> None:
    report = verify_output(clean.out, clean.dsec_root)
    assert report.ok, report.problems
    assert report.checked[EVENT_NPY.name] == report.checked[VIDEO.name] == len(records(clean))
    assert sum(r.dropped for r in records(clean)) > 0  # real events reach the map's edges
    assert verify_output(clean.out).ok  # without DSEC: sizes and structure only
    card = clean.output.card.read_text()
    assert "Events: in the rectified view" in card and "Frames: warped into" in card


def test_unrectified_events_are_caught(copy: BuildConfig, tmp_path: Path) -> None:
    raw = dataclasses.replace(copy, out=tmp_path / "raw", rectify_events=False)
    assert not build(raw).failures
    assert "Events: raw pixels" in raw.output.card.read_text()
    half = DURATIONS[0]
    clip = next(r.clip for r in records(copy) if r.duration == half.label and r.num_events)
    path = copy.output.clip_path(EVENT_NPY, SPLIT, half, SEQUENCE, clip)
    shutil.copyfile(raw.output.clip_path(EVENT_NPY, SPLIT, half, SEQUENCE, clip), path)
    problems = verify_output(copy.out, copy.dsec_root).problems
    assert [p.path for p in problems] == [path]
    assert any(word in problems[0].what for word in ("manifest says", "(rectified)"))


def test_a_wrong_kept_frame_is_caught_and_fixed(copy: BuildConfig, clean: BuildConfig) -> None:
    kept = kept_frame(copy, 3)
    pixels = decode_frame(kept).copy()
    pixels[10:20, 10:20] = 255 - pixels[10:20, 10:20]
    with kept.open("r+b") as handle:  # in place: the clip folders' links see it too
        handle.write(png_bytes(pixels))
        handle.truncate()
    report = verify_output(copy.out, copy.dsec_root)
    bad = {p.path for p in report.problems}
    assert kept in bad
    linked = bad - {kept}
    assert linked and all(p.name == kept.name for p in linked)
    assert all(p.component == VIDEO.name for p in report.problems)
    # Without DSEC the kept frame still has the event view's size: nothing to see.
    assert verify_output(copy.out).ok
    fix_output(copy.out, report)
    assert not build(copy).failures
    assert verify_output(copy.out, copy.dsec_root).ok
    assert tree_hashes(copy.out) == tree_hashes(clean.out)


def test_a_frame_of_the_camera_size_is_caught_without_dsec(copy: BuildConfig) -> None:
    record = next(r for r in records(copy) if r.num_events)
    folder = copy.output.clip_path(VIDEO, SPLIT, DURATIONS[0], SEQUENCE, record.clip)
    frame = sorted(folder.iterdir())[0]
    frame.unlink()
    frame.write_bytes(png_bytes(np.zeros((240, 320, 3), np.uint8)))
    problems = verify_output(copy.out).problems
    assert [p.path for p in problems] == [frame]
    assert "expected 640x480" in problems[0].what


def test_back_to_the_camera_view_drops_the_kept_frames(copy: BuildConfig) -> None:
    kept = copy.output.event_view_dir(SPLIT, SEQUENCE)
    assert any(kept.iterdir())
    camera = dataclasses.replace(copy, frames_view="camera")
    assert not build(camera, rebuild_changed=True).failures
    assert not kept.exists()
    assert verify_output(camera.out, camera.dsec_root).ok
    frames = sorted(camera.output.kind_dir(SPLIT, DURATIONS[0], VIDEO).rglob("*.png"))
    assert frames and decode_frame(frames[0]).shape[:2] != (480, 640)
