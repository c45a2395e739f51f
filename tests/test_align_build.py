"""Alignment through the build: ``--rectify-events`` and ``--frames-view event`` checked on
the BUILD OUTPUTS of a synthetic sequence with a known calibration, against references
that read the source files directly (h5py, PyYAML, OpenCV), not through egpt_dsec.

The synthetic generator writes events only at raw pixels whose rectified pixel lies
inside the image, so on its own it never gives a dropped event; the fixture moves every
``INJECT_EVERY``-th event to a raw pixel that rectification drops (the outer ring of a
real sensor), so the drop bookkeeping is exercised. It also states the calibration for
DSEC's 1440x1080 frames while the frames on disk are smaller, so the homography's resize
is exercised too.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import h5py
import hdf5plugin  # noqa: F401  (Blosc, to rewrite the synthetic events.h5)
import numpy as np
import pytest
import yaml
from PIL import Image

from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import Duration, parse_durations
from egpt_dsec.kinds import EVENT_IMAGE, EVENT_NPY, MP4, VIDEO
from egpt_dsec.layout.output import OutputLayout
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.pipeline import BuildReport, build
from egpt_dsec.render.alignment import measure_offset
from egpt_dsec.render.warp import resize_frame
from egpt_dsec.state.manifest import ClipRecord, Manifest
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec
from egpt_dsec.synth.dataset import plan_sequence, sequence_slots
from helpers import counts, expected_displacement, tree_hashes
from reference import reference_events, reference_image, reference_parts

SPEC = SynthSpec(sequences=1, seconds=2.0, rate=1e6, seed=0, frame_size=(480, 360))
SEQ = "synth_00"
DURATIONS = parse_durations("500ms,1s")
BY_LABEL = {d.label: d for d in DURATIONS}
WIDTH, HEIGHT = 640, 480
INJECT_EVERY = 40  # one event in 40 moved to a raw pixel that rectification drops
HALF_WINDOW_US = 3000  # events within 3 ms of a frame: the shapes move < 1 px
CALIBRATED_FRAME_SIZE = (1440, 1080)  # DSEC's; the frames on disk are SPEC.frame_size
# Two 1 s work units and small read chunks: clip boundaries fall inside chunks and shards.
ALIGNED = dict(rectify_events=True, frames_view="event", shard_seconds=1.0)
CHUNK = 150_000
KEYS = ["p", "t", "x", "y", "time_start", "time_end", "duration_ms", "image_timestamp",
        "image_idx", "image_indices_in_clip", "num_events"]  # fmt: skip


# --- the source and independent references ------------------------------------------------


@dataclass(frozen=True)
class Source:
    root: Path
    folder: Path
    synth_dropped: int  # events of the unmodified synthetic sequence at dropped pixels
    injected: int  # events moved to dropped pixels


def read_rectify_map(folder: Path) -> np.ndarray:
    with h5py.File(folder / "events/left/rectify_map.h5", "r") as f:
        return np.asarray(f["rectify_map"][()])


def rectified_pixels(rmap: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """(keep, x', y') of raw events: np.rint (half to even) of rectify_map[y, x], kept when
    inside [0, 640) x [0, 480)."""
    mapped = rmap[y.astype(np.int64), x.astype(np.int64)]
    xr, yr = np.rint(mapped[:, 0]), np.rint(mapped[:, 1])
    keep = (xr >= 0) & (xr < WIDTH) & (yr >= 0) & (yr < HEIGHT)
    return keep, xr[keep].astype(np.uint16), yr[keep].astype(np.uint16)


def inject_dropped_events(folder: Path, rmap: np.ndarray) -> int:
    """Move every INJECT_EVERY-th event to a random raw pixel whose events are dropped."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    keep, _, _ = rectified_pixels(rmap, xs.ravel(), ys.ravel())
    dropped = np.flatnonzero(~keep)
    assert len(dropped) > 1000  # the distorted outer ring
    with h5py.File(folder / "events/left/events.h5", "r+") as f:
        x, y = f["events/x"][()], f["events/y"][()]
        moved = np.arange(0, len(x), INJECT_EVERY)
        pick = np.random.default_rng(5).choice(dropped, len(moved))
        y[moved], x[moved] = np.divmod(pick, WIDTH)
        f["events/x"][...], f["events/y"][...] = x, y
    return len(moved)


def calibrate_frames_at(folder: Path, size: tuple[int, int]) -> None:
    """State camRect1 for frames of ``size`` (the same camera): the frames on disk are then
    smaller than the calibrated ones, as when a user gives downscaled frames, and every
    homography must account for the resize."""
    path = folder / "calibration/cam_to_cam.yaml"
    data = yaml.safe_load(path.read_text())
    cam = data["intrinsics"]["camRect1"]
    (w, h), (fx, fy, cx, cy) = cam["resolution"], cam["camera_matrix"]
    sx, sy = size[0] / w, size[1] / h
    cam["camera_matrix"] = [fx * sx, fy * sy, (cx + 0.5) * sx - 0.5, (cy + 0.5) * sy - 0.5]
    cam["resolution"] = list(size)
    path.write_text(yaml.safe_dump(data))


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    root = tmp_path_factory.mktemp("dsec_align_build")
    write_synthetic_dsec(root, SPEC)
    folder = root / "train" / SEQ
    rmap = read_rectify_map(folder)
    with h5py.File(folder / "events/left/events.h5", "r") as f:
        keep, _, _ = rectified_pixels(rmap, f["events/x"][()], f["events/y"][()])
    synth_dropped = int(np.count_nonzero(~keep))
    calibrate_frames_at(folder, CALIBRATED_FRAME_SIZE)
    return Source(root, folder, synth_dropped, inject_dropped_events(folder, rmap))


def timestamps(folder: Path) -> np.ndarray:
    return np.loadtxt(folder / "images/timestamps.txt", dtype=np.int64)


def windows(ts: np.ndarray, duration: Duration) -> list[tuple[int, int, int]]:
    """(index, t0, t1) of every 50%-overlap window ending at or before the last frame."""
    d, first, last = duration.us, int(ts[0]), int(ts[-1])
    starts = [first + k * d // 2 for k in range((last - first) // (d // 2) + 1)]
    return [(k, t0, t0 + d) for k, t0 in enumerate(starts) if t0 + d <= last]


def reference_rectified(folder: Path, t0: int, t1: int) -> tuple[dict[str, np.ndarray], int, int]:
    """The window's events rectified and filtered; also its raw event count and the index of
    its first event in events.h5."""
    events_h5 = folder / "events/left/events.h5"
    raw = reference_events(events_h5, t0, t1)
    with h5py.File(events_h5, "r") as f:
        first = int(np.count_nonzero(f["events/t"][()].astype(np.int64) + f["t_offset"][()] < t0))
    keep, x, y = rectified_pixels(read_rectify_map(folder), raw["x"], raw["y"])
    ref = {"p": raw["p"][keep], "t": raw["t"][keep], "x": x, "y": y}
    return ref, len(raw["t"]), first


def reference_homography(folder: Path, frame_size: tuple[int, int]) -> np.ndarray:
    """H = K_r0 · R_rect0 · R_10ᵀ · R_rect1ᵀ · K_r1⁻¹ from cam_to_cam.yaml, with the resize
    of the calibrated sizes to the actual frame (input) and to 640x480 (output)."""
    data = yaml.safe_load((folder / "calibration/cam_to_cam.yaml").read_text())
    intr, extr = data["intrinsics"], data["extrinsics"]

    def k(cam: str) -> np.ndarray:
        fx, fy, cx, cy = intr[cam]["camera_matrix"]
        return np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], dtype=np.float64)

    def resize(src: list[int], dst: tuple[int, int]) -> np.ndarray:
        sx, sy = dst[0] / src[0], dst[1] / src[1]  # pixel centres: x' = (x + 0.5) s - 0.5
        return np.array([[sx, 0, (sx - 1) / 2], [0, sy, (sy - 1) / 2], [0, 0, 1]])

    r_rect0, r_rect1 = np.array(extr["R_rect0"]), np.array(extr["R_rect1"])
    r_10 = np.array(extr["T_10"])[:3, :3]
    h = k("camRect0") @ r_rect0 @ r_10.T @ r_rect1.T @ np.linalg.inv(k("camRect1"))
    h = (
        resize(intr["camRect0"]["resolution"], (WIDTH, HEIGHT))
        @ h
        @ np.linalg.inv(resize(intr["camRect1"]["resolution"], frame_size))
    )
    return h / h[2, 2]


def warped_reference(folder: Path, k: int) -> np.ndarray:
    frame = np.asarray(Image.open(folder / f"images/left/rectified/{k:06d}.png").convert("RGB"))
    h = reference_homography(folder, (frame.shape[1], frame.shape[0]))
    return np.asarray(
        cv2.warpPerspective(
            frame,
            h,
            (WIDTH, HEIGHT),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0),
        )
    )


# --- the builds -----------------------------------------------------------------------------


def built(root: Path, out: Path, **options: object) -> BuildConfig:
    options = {"workers": 1, **options}  # one process unless the test asks for more
    config = BuildConfig(dsec_root=root, out=out, durations=DURATIONS, **options)  # type: ignore[arg-type]
    report = build(config)
    assert not report.failures, report.failures
    return config


@pytest.fixture(scope="module")
def plain(source: Source, tmp_path_factory: pytest.TempPathFactory) -> BuildConfig:
    return built(source.root, tmp_path_factory.mktemp("plain"))


@pytest.fixture(scope="module")
def aligned(source: Source, tmp_path_factory: pytest.TempPathFactory) -> BuildConfig:
    out = tmp_path_factory.mktemp("aligned")
    return built(source.root, out, max_chunk_events=CHUNK, **ALIGNED)


def records(config: BuildConfig) -> list[ClipRecord]:
    found = Manifest(StateLayout(config.out)).sequence_records("train", SEQ)
    return [found[key] for key in sorted(found)]


def load_npy(config: BuildConfig, record: ClipRecord) -> dict:
    path = config.output.clip_path(EVENT_NPY, "train", BY_LABEL[record.duration], SEQ, record.clip)
    return dict(np.array(np.load(path, allow_pickle=True)).item())  # as EventGPT loads it


def clip_folder(config: BuildConfig, record: ClipRecord) -> Path:
    return config.output.clip_path(VIDEO, "train", BY_LABEL[record.duration], SEQ, record.clip)


def frame_windows(config: BuildConfig, source: Source) -> list[tuple[ClipRecord, int, dict]]:
    """(clip, frame k, the clip's npy events within ±3 ms of frame k) for every frame of every
    500 ms clip whose window lies inside the clip."""
    ts = timestamps(source.folder)
    out = []
    for record in records(config):
        if record.duration != "500ms":
            continue
        data = load_npy(config, record)
        for k in range(record.frame_start, record.frame_stop):
            a, b = int(ts[k]) - HALF_WINDOW_US, int(ts[k]) + HALF_WINDOW_US
            if a >= record.t0 and b <= record.t1:
                near = (data["t"] >= a) & (data["t"] < b)
                out.append((record, k, {key: data[key][near] for key in ("x", "y", "p")}))
    return out


def frame_of(config: BuildConfig, record: ClipRecord, k: int) -> np.ndarray:
    return np.asarray(Image.open(clip_folder(config, record) / f"{k:06d}.png").convert("RGB"))


# --- 1. acceptance: the measured offsets ----------------------------------------------------


def test_aligned_outputs_coincide_within_a_pixel(aligned: BuildConfig, source: Source) -> None:
    found = frame_windows(aligned, source)
    assert len(found) >= 20
    offsets = []
    for record, k, ev in found:
        assert len(ev["x"]) > 3000
        frame = frame_of(aligned, record, k)
        assert frame.shape == (HEIGHT, WIDTH, 3)
        offsets.append(measure_offset(counts(ev["x"], ev["y"]), frame))
        assert np.hypot(*offsets[-1]) < 1.0, (record.key, k, offsets[-1])
    assert np.hypot(*np.mean(offsets, axis=0)) < 0.25


def test_plain_outputs_are_off_by_the_known_displacement(
    plain: BuildConfig, source: Source
) -> None:
    synth = plan_sequence(SPEC, sequence_slots(SPEC)[0]).calibration
    found = frame_windows(plain, source)
    assert len(found) >= 20
    for record, k, ev in found:
        frame = frame_of(plain, record, k)
        assert frame.shape == (SPEC.frame_size[1], SPEC.frame_size[0], 3)  # DSEC's frame
        known = expected_displacement(synth, ev["x"], ev["y"])
        assert np.hypot(*known) > 4  # the synthetic cameras are several pixels apart
        unaligned = measure_offset(counts(ev["x"], ev["y"]), resize_frame(frame))
        assert np.hypot(*(np.array(unaligned) - known)) < 1.0, (record.key, k, unaligned, known)


# --- 2. rectified npy events against the slow reference -------------------------------------


def test_synthetic_events_never_land_on_dropped_pixels(source: Source) -> None:
    """What the generator gives (hence the injection): no event rectifies outside."""
    assert source.synth_dropped == 0
    assert source.injected > 40_000


def check_npy(data: dict, record: ClipRecord, ref: dict, duration: Duration) -> None:
    assert list(data) == KEYS
    for key in ("p", "t", "x", "y"):
        assert data[key].dtype == ref[key].dtype, key
        np.testing.assert_array_equal(data[key], ref[key], err_msg=f"{record.key} {key}")
    assert (data["time_start"], data["time_end"]) == (record.t0, record.t1)
    assert data["duration_ms"] == duration.ms
    assert data["num_events"] == len(ref["t"])


def test_rectified_npy_equals_the_reference(aligned: BuildConfig, source: Source) -> None:
    ts = timestamps(source.folder)
    recs = records(aligned)
    expected = {(d.label, k, t0, t1) for d in DURATIONS for k, t0, t1 in windows(ts, d)}
    assert {(r.duration, r.clip, r.t0, r.t1) for r in recs} == expected
    for record in recs:
        ref, raw, first = reference_rectified(source.folder, record.t0, record.t1)
        check_npy(load_npy(aligned, record), record, ref, BY_LABEL[record.duration])
        assert record.num_events == len(ref["t"]) > 0
        assert record.dropped == raw - len(ref["t"])
        assert record.dropped > raw // INJECT_EVERY // 2  # the injected events, dropped
        assert record.event_start == first
        assert record.source_events == raw


def test_plain_npy_keeps_raw_events(plain: BuildConfig, source: Source) -> None:
    for record in records(plain)[:3]:
        raw = reference_events(source.folder / "events/left/events.h5", record.t0, record.t1)
        check_npy(load_npy(plain, record), record, raw, BY_LABEL[record.duration])
        assert record.dropped == 0 and record.num_events == len(raw["t"])


# --- 3. event images of the rectified events -------------------------------------------------


def test_rectified_event_images_are_pixel_exact(aligned: BuildConfig, source: Source) -> None:
    checked = 0
    for record in records(aligned):
        if record.duration != "500ms" and record.clip > 0:
            continue  # the per-event loop is slow: every 500 ms clip and the first 1 s clip
        ref, _, _ = reference_rectified(source.folder, record.t0, record.t1)
        parts = reference_parts(len(ref["t"]), 5)
        assert record.parts == 5
        for part, (a, b) in enumerate(parts):
            png = aligned.output.clip_path(
                EVENT_IMAGE, "train", BY_LABEL[record.duration], SEQ, record.clip, part
            )
            expected = reference_image(ref["x"][a:b], ref["y"][a:b], ref["p"][a:b], "last")
            np.testing.assert_array_equal(np.asarray(Image.open(png)), expected)
            checked += 1
    assert checked >= 30


# --- 4. frames warped into the event view ----------------------------------------------------


def test_event_view_frames_are_the_warped_source(aligned: BuildConfig, source: Source) -> None:
    kept = aligned.out / "train" / "event_view_frames" / SEQ
    warped: dict[int, np.ndarray] = {}
    linked = set()
    for record in records(aligned):
        folder = clip_folder(aligned, record)
        names = [f"{k:06d}.png" for k in range(record.frame_start, record.frame_stop)]
        assert sorted(p.name for p in folder.iterdir()) == names
        for k, name in zip(range(record.frame_start, record.frame_stop), names, strict=True):
            with Image.open(folder / name) as im:
                assert (im.format, im.mode, im.size) == ("PNG", "RGB", (WIDTH, HEIGHT))
                pixels = np.asarray(im)
            if k not in warped:
                warped[k] = warped_reference(source.folder, k)
            np.testing.assert_array_equal(pixels, warped[k], err_msg=f"{record.key} frame {k}")
            assert os.path.samefile(folder / name, kept / name)  # hard link, one file
            linked.add(name)
    assert sorted(p.name for p in kept.iterdir()) == sorted(linked)
    assert len(warped) > 30


def test_mp4s_show_the_event_view(aligned: BuildConfig, source: Source) -> None:
    for record in records(aligned):
        mp4 = aligned.output.clip_path(MP4, "train", BY_LABEL[record.duration], SEQ, record.clip)
        with av.open(str(mp4)) as container:
            stream = container.streams.video[0]
            decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
            assert stream.frames == record.frame_stop - record.frame_start
        assert len(decoded) == record.frame_stop - record.frame_start >= 8
        assert all(f.shape == (HEIGHT, WIDTH, 3) for f in decoded)
        # the encoded pixels are the warped frame's (lossy), not the resized camera frame's
        first = warped_reference(source.folder, record.frame_start).astype(np.int16)
        assert np.abs(decoded[0].astype(np.int16) - first).mean() < 6


# --- 5. determinism ----------------------------------------------------------------------------


def test_two_workers_give_identical_bytes(aligned: BuildConfig, tmp_path: Path) -> None:
    other = built(aligned.dsec_root, tmp_path, max_chunk_events=CHUNK, workers=2, **ALIGNED)
    assert other.workers == 2
    assert tree_hashes(other.out, card=True) == tree_hashes(aligned.out, card=True)


def test_unsharded_build_gives_the_same_events_and_frames(
    aligned: BuildConfig, tmp_path: Path
) -> None:
    """One work unit and the default read size: every file but the MP4s (encoded once per
    work unit, so cut from another encode) is the same."""
    options = {**ALIGNED, "shard_seconds": None}
    other = built(aligned.dsec_root, tmp_path, **options)
    mine, theirs = tree_hashes(aligned.out), tree_hashes(other.out)
    assert set(mine) == set(theirs)
    differ = {p for p in mine if mine[p] != theirs[p]}
    assert differ <= {p for p in mine if p.endswith(".mp4")}
    assert len(mine) - len(differ) > 150


def test_rerun_changes_nothing(aligned: BuildConfig) -> None:
    before = tree_hashes(aligned.out, card=True)
    mtimes = {p: p.stat().st_mtime_ns for p in aligned.out.rglob("*") if p.is_file()}
    report = build(aligned)
    t = report.totals
    assert not report.failures
    assert t.clips_built == 0 and t.clips_skipped == t.clips_planned > 0
    assert t.events_decoded == 0 and t.frames_decoded == 0
    assert tree_hashes(aligned.out, card=True) == before
    changed = [
        p for p, m in mtimes.items()
        if p.stat().st_mtime_ns != m and ".egpt-dsec" not in p.parts and p.suffix != ".json"
    ]  # fmt: skip
    assert changed == []


# --- 6. a missing calibration fails its sequence only -----------------------------------------


@pytest.fixture(scope="module")
def broken_root(source: Source, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """synth_00 whole, synth_01 without cam_to_cam.yaml, synth_02 without rectify_map.h5."""
    root = tmp_path_factory.mktemp("dsec_broken")
    for name in ("synth_00", "synth_01", "synth_02"):
        shutil.copytree(source.folder, root / "train" / name)
    (root / "train/synth_01/calibration/cam_to_cam.yaml").unlink()
    (root / "train/synth_02/events/left/rectify_map.h5").unlink()
    return root


def build_broken(root: Path, out: Path, **options: object) -> BuildReport:
    config = BuildConfig(
        dsec_root=root,
        out=out,
        durations=parse_durations("500ms"),
        workers=1,
        **options,  # type: ignore[arg-type]
    )
    return build(config)


def assert_failed_alone(
    report: BuildReport, root: Path, out: Path, bad: str, words: list[str]
) -> None:
    assert {r.key.split("@")[0] for r in report.failures} == {f"train/{bad}"}, report.failures
    message = " ".join(r.error or "" for r in report.failures)
    for word in words:
        assert word in message, (word, message)
    manifest = Manifest(StateLayout(out))
    assert manifest.sequence_records("train", bad) == {}
    assert [p for p in out.glob(f"train/**/{bad}/*") if p.is_file()] == []
    layout, half = OutputLayout(out), Duration.parse("500ms")
    for good in {"synth_00", "synth_01", "synth_02"} - {bad}:
        recs = manifest.sequence_records("train", good)
        planned = windows(timestamps(root / "train" / good), half)
        assert sorted(r.clip for r in recs.values()) == [k for k, _, _ in planned]
        assert all(not r.empty for r in recs.values())
        for r in recs.values():
            assert layout.clip_path(EVENT_NPY, "train", half, good, r.clip).is_file()
            assert layout.clip_path(MP4, "train", half, good, r.clip).is_file()


def test_missing_calibration_fails_only_that_sequence(broken_root: Path, tmp_path: Path) -> None:
    report = build_broken(broken_root, tmp_path, frames_view="event")
    yaml_path = broken_root / "train/synth_01/calibration/cam_to_cam.yaml"
    words = [str(yaml_path), "missing", "calibration archive", "train_calibration.zip"]
    assert_failed_alone(report, broken_root, tmp_path, "synth_01", words)


def test_missing_rectify_map_fails_only_that_sequence(broken_root: Path, tmp_path: Path) -> None:
    report = build_broken(broken_root, tmp_path, rectify_events=True)
    map_path = broken_root / "train/synth_02/events/left/rectify_map.h5"
    assert_failed_alone(
        report, broken_root, tmp_path, "synth_02", [str(map_path), "missing", "event archive"]
    )


def test_a_clip_whose_events_all_drop_is_an_empty_clip(source: Source, tmp_path: Path) -> None:
    """Every event of the first 500 ms window moved to dropped pixels: that clip is empty
    (no files, not in the JSON), its dropped events counted; the next one is half empty."""
    root = tmp_path / "dsec"
    folder = root / "train" / SEQ
    shutil.copytree(source.folder, folder)
    ts, rmap = timestamps(folder), read_rectify_map(folder)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    dropped = np.flatnonzero(~rectified_pixels(rmap, xs.ravel(), ys.ravel())[0])
    with h5py.File(folder / "events/left/events.h5", "r+") as f:
        t = f["events/t"][()].astype(np.int64) + int(f["t_offset"][()])
        x, y = f["events/x"][()], f["events/y"][()]
        moved = np.flatnonzero(t < ts[0] + 500_000)
        y[moved], x[moved] = np.divmod(np.random.default_rng(6).choice(dropped, len(moved)), WIDTH)
        f["events/x"][...], f["events/y"][...] = x, y
    half = Duration.parse("500ms")
    config = BuildConfig(
        dsec_root=root, out=tmp_path / "out", durations=(half,), workers=1, **ALIGNED
    )  # type: ignore[arg-type]
    assert not build(config).failures
    found = {r.clip: r for r in records(config)}
    _, raw, _ = reference_rectified(folder, found[0].t0, found[0].t1)
    assert found[0].empty and found[0].dropped == raw > 0
    for kind in (EVENT_NPY, MP4, VIDEO):
        assert not config.output.clip_path(kind, "train", half, SEQ, 0).exists()
    assert not config.output.clip_path(EVENT_IMAGE, "train", half, SEQ, 0, 0).exists()
    ref, raw, _ = reference_rectified(folder, found[1].t0, found[1].t1)
    check_npy(load_npy(config, found[1]), found[1], ref, half)
    assert found[1].dropped == raw - len(ref["t"]) > raw // 3
    items = json.loads(config.output.eventgpt_json("train", half).read_text())
    assert [item["event_data"] for item in items] == [
        f"{SEQ}/{r.clip:06d}.npy" for r in found.values() if not r.empty
    ]
