"""The synthetic DSEC generator: layout, dtypes, clocks, rate, determinism, coherence."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import cv2
import h5py
import hdf5plugin
import numpy as np
import pytest
from PIL import Image

from egpt_dsec.render.rectify import RectifyTable, rectify_events
from egpt_dsec.render.warp import warp_frame_to_event_view
from egpt_dsec.source.calibration import load_calibration, load_rectify_map
from egpt_dsec.synth import SynthSpec, write_events_h5, write_synthetic_dsec
from egpt_dsec.synth.dataset import plan_sequence, sequence_slots
from egpt_dsec.synth.stream import event_chunks

BLOSC_FILTER = 32001
BLOSC_ZSTD = 5  # hdf5-blosc compressor code
SMALL = SynthSpec(sequences=1, test_sequences=1, seconds=1.0, rate=2e5, seed=3, frame_size=(96, 72))
SENSOR = SynthSpec(sequences=1, seconds=1.0, rate=1e6, seed=7)  # frames at sensor size


def ms_index(t: np.ndarray) -> np.ndarray:
    """The DSEC definition: first index with t >= ms * 1000, for ms up to t[-1] // 1000."""
    if not len(t):
        return np.zeros(0, dtype=np.int64)
    return np.searchsorted(t, np.arange(int(t[-1]) // 1000 + 1) * 1000, "left")


def read_events(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        out = {k: f[f"events/{k}"][()] for k in "xypt"}
        out["ms_to_idx"] = f["ms_to_idx"][()]
        out["t_offset"] = f["t_offset"][()]
    return out


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def small_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dsec")
    write_synthetic_dsec(root, SMALL)
    return root


@pytest.fixture(scope="module")
def sensor_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Frames at the sensor size, busier events: for comparing events with frames."""
    root = tmp_path_factory.mktemp("dsec_sensor")
    write_synthetic_dsec(root, SENSOR)
    return root


# --- spec ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sequences": -1}, "sequence counts"),
        ({"sequences": 0, "test_sequences": 0}, "nothing to generate"),
        ({"seconds": 0.0}, "seconds"),
        ({"rate": -1.0}, "rate"),
        ({"seed": -2}, "seed"),
        ({"frame_size": (4, 480)}, "frame_size"),
        ({"layout": "flat"}, "layout"),
    ],
)
def test_spec_rejects_bad_values(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SynthSpec(**kwargs)


def test_sequence_names() -> None:
    slots = sequence_slots(SynthSpec(sequences=2, test_sequences=1))
    assert [(s.split, s.name) for s in slots] == [
        ("train", "synth_00"),
        ("train", "synth_01"),
        ("test", "synth_test_00"),
    ]


# --- layout -------------------------------------------------------------------------


def test_layout_and_dtypes(small_root: Path) -> None:
    for seq in (small_root / "train/synth_00", small_root / "test/synth_test_00"):
        assert (seq / "events/left/rectify_map.h5").is_file()
        assert (seq / "images/timestamps.txt").is_file()
        with h5py.File(seq / "events/left/events.h5", "r") as f:
            assert sorted(f.keys()) == ["events", "ms_to_idx", "t_offset"]
            assert sorted(f["events"].keys()) == ["p", "t", "x", "y"]
            dtypes = {k: f[f"events/{k}"].dtype for k in "xypt"}
            assert dtypes == {"x": np.uint16, "y": np.uint16, "p": np.uint8, "t": np.uint32}
            assert f["ms_to_idx"].dtype == np.uint64
            assert f["t_offset"].dtype == np.int64 and f["t_offset"].shape == ()
            for k in "xypt":
                ds = f[f"events/{k}"]
                assert ds.chunks is not None and ds.maxshape == (None,)
                code, _, values, _ = ds.id.get_create_plist().get_filter(0)
                assert code == BLOSC_FILTER
                assert values[5] == hdf5plugin.Blosc.SHUFFLE and values[6] == BLOSC_ZSTD
        with h5py.File(seq / "events/left/rectify_map.h5", "r") as f:
            rmap = f["rectify_map"][()]
        assert rmap.shape == (480, 640, 2) and rmap.dtype == np.float32
        ys, xs = np.mgrid[0:480, 0:640]
        shift = np.hypot(rmap[..., 0] - xs, rmap[..., 1] - ys)
        # A real camera's map (calibration and distortion, see test_align_rectify.py), no
        # longer identity at the centre: the rectification rotates the view a little.
        assert shift[240, 320] < 20 and 3 < shift.max() < 40
        calib = load_calibration(seq)
        assert calib.frame_rect.size == SMALL.frame_size and calib.event_rect.size == (640, 480)


def test_sequence_layout(tmp_path: Path) -> None:
    spec = SynthSpec(sequences=1, seconds=0.2, rate=1e4, frame_size=(32, 24), layout="sequence")
    names: list[str] = []
    folders = write_synthetic_dsec(tmp_path, spec, on_sequence=names.append)
    assert folders == [tmp_path / "train/synth_00"] and names == ["synth_00"]
    assert (folders[0] / "events_left/events.h5").is_file()
    assert (folders[0] / "events_left/rectify_map.h5").is_file()
    assert not (folders[0] / "events").exists()
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]  # no temp files


def test_events_valid(small_root: Path) -> None:
    ev = read_events(small_root / "train/synth_00/events/left/events.h5")
    t = ev["t"]
    assert len(t) > 0 and np.all(np.diff(t.astype(np.int64)) >= 0)
    assert ev["x"].max() < 640 and ev["y"].max() < 480
    assert set(np.unique(ev["p"]).tolist()) == {0, 1}
    np.testing.assert_array_equal(ev["ms_to_idx"], ms_index(t))
    assert 0.35 < ev["p"].mean() < 0.65


def test_rate_matches_request(small_root: Path) -> None:
    t = read_events(small_root / "train/synth_00/events/left/events.h5")["t"]
    span_s = (int(t[-1]) - int(t[0])) / 1e6
    assert len(t) / span_s == pytest.approx(SMALL.rate, rel=0.1)


def test_timestamps_and_frames(small_root: Path) -> None:
    seq = small_root / "train/synth_00"
    ev = read_events(seq / "events/left/events.h5")
    ts = np.loadtxt(seq / "images/timestamps.txt", dtype=np.int64)
    assert len(ts) == SMALL.frame_count == 21
    assert np.all(np.abs(np.diff(ts) - 50_000) <= 10)
    offset = int(ev["t_offset"])
    assert offset > 3e10
    assert 0 < ts[0] - offset < 1000  # first image just after t_offset, as in DSEC
    t_abs = ev["t"].astype(np.int64) + offset
    assert t_abs[0] <= ts[0] and t_abs[-1] >= ts[-1]  # events cover the frames
    frames = sorted((seq / "images/left/rectified").iterdir())
    assert [p.name for p in frames] == [f"{i:06d}.png" for i in range(len(ts))]
    with Image.open(frames[0]) as im:
        assert im.size == SMALL.frame_size and im.mode == "RGB"


def test_same_seed_same_bytes(small_root: Path, tmp_path: Path) -> None:
    write_synthetic_dsec(tmp_path, SMALL)
    assert tree_digest(tmp_path) == tree_digest(small_root)


def test_other_seed_other_events(small_root: Path, tmp_path: Path) -> None:
    write_synthetic_dsec(tmp_path, SynthSpec(sequences=1, seconds=1.0, rate=2e5, seed=4))
    a = read_events(small_root / "train/synth_00/events/left/events.h5")
    b = read_events(tmp_path / "train/synth_00/events/left/events.h5")
    assert a["t_offset"] != b["t_offset"]
    n = min(len(a["x"]), len(b["x"]))
    assert not np.array_equal(a["x"][:n], b["x"][:n])


# --- the scene ----------------------------------------------------------------------


def test_events_concentrate_on_moving_edges(sensor_root: Path) -> None:
    """Like real DSEC: a few pixels (the moving edges) hold most events."""
    ev = read_events(sensor_root / "train/synth_00/events/left/events.h5")
    pixels = ev["y"].astype(np.int64) * 640 + ev["x"]

    def top_share(a: int, b: int, fraction: float) -> float:
        counts = np.sort(np.bincount(pixels[a:b], minlength=640 * 480))[::-1]
        return float(counts[: int(counts.size * fraction)].sum() / counts.sum())

    assert top_share(0, len(pixels), 0.10) > 0.5  # whole second, shapes sweep around
    ms = ev["ms_to_idx"]
    for start_ms in (100, 500, 900):  # 50 ms windows: 1% of the pixels hold most events
        assert top_share(int(ms[start_ms]), int(ms[start_ms + 50]), 0.01) > 0.4


def test_events_fall_on_the_scene_shapes(sensor_root: Path) -> None:
    """Rectified events just before a frame fall on the shapes of the scene, drawn in the
    rectified event view at the frame time (not on its background)."""
    seq = sensor_root / "train/synth_00"
    plan = plan_sequence(SENSOR, sequence_slots(SENSOR)[0])
    background = plan.scene.background(640, 480, 3)
    ev = read_events(seq / "events/left/events.h5")
    table = RectifyTable.from_map(load_rectify_map(seq))
    ts = np.loadtxt(seq / "images/timestamps.txt", dtype=np.int64) - int(ev["t_offset"])
    t = ev["t"].astype(np.int64)
    for k in (4, 10, 17):
        scene = plan.scene.render(float(ts[k]) / 1e6, 640, 480)
        shapes = np.abs(scene - background).max(axis=2) > 0.01
        near = shapes.copy()  # shapes move < 2 px in 5 ms: allow 2 px
        for dy in (-2, -1, 0, 1, 2):
            for dx in (-2, -1, 0, 1, 2):
                near |= np.roll(np.roll(shapes, dy, 0), dx, 1)
        a, b = np.searchsorted(t, [ts[k] - 5000, ts[k]])
        _, x, y = rectify_events(ev["x"][a:b], ev["y"][a:b], table)
        assert len(x) > 1000 and near[y, x].mean() > 0.9  # the rest is background noise (3%)
        assert shapes.mean() < 0.5
        raw_hits = near[ev["y"][a:b], ev["x"][a:b]].mean()
        assert raw_hits < near[y, x].mean()  # raw coordinates are off by the distortion


def test_frame_is_the_scene_seen_by_the_frame_camera(sensor_root: Path) -> None:
    """A frame warped into the event view (by the written calibration) is the scene drawn
    in that view, wherever the scene is flat over 3x3 pixels (edges get resampled)."""
    seq = sensor_root / "train/synth_00"
    plan = plan_sequence(SENSOR, sequence_slots(SENSOR)[0])
    to_event = load_calibration(seq).frame_to_event_homography()
    k = 6
    t_s = float(plan.clock.frames_rel_us[k]) / 1e6
    expected = np.clip(np.round(plan.scene.render(t_s, 640, 480) * 255), 0, 255).astype(np.int16)
    frame = np.asarray(Image.open(seq / f"images/left/rectified/{k:06d}.png"))
    warped = warp_frame_to_event_view(frame, to_event).astype(np.int16)
    covered = warp_frame_to_event_view(np.full_like(frame, 255), to_event)[..., 0] == 255
    spread = cv2.dilate(expected, np.ones((3, 3))) - cv2.erode(expected, np.ones((3, 3)))
    flat = covered & (spread.max(axis=2) <= 2)
    assert flat.mean() > 0.5 and covered.mean() > 0.9
    diff = np.abs(warped - expected).max(axis=2)[flat]
    assert np.mean(diff <= 3) > 0.995
    resized = np.abs(frame.astype(np.int16) - expected).max(axis=2)[flat]
    assert np.mean(resized <= 3) < 0.98  # the frame camera's view is not the event view


def test_event_chunks_sorted_and_exact_count() -> None:
    spec = SynthSpec(sequences=1, seconds=0.5, rate=3e5)
    plan = plan_sequence(spec, sequence_slots(spec)[0])
    end = plan.clock.events_end_us
    chunks = list(
        event_chunks(plan.scene, end, spec.rate, np.random.default_rng(0), block_events=20_000)
    )
    assert len(chunks) > 3
    t = np.concatenate([c[3] for c in chunks]).astype(np.int64)
    assert len(t) == round(spec.rate * end / 1e6)
    assert np.all(np.diff(t) >= 0) and t[0] >= 0 and t[-1] < end


# --- write_events_h5 ----------------------------------------------------------------


def test_write_events_h5_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 5000
    t = np.sort(rng.integers(0, 40_000, n)).astype(np.int64)
    t[100:110] = 3000  # a run of equal times on a ms boundary
    t = np.sort(t)
    x = rng.integers(0, 640, n).astype(np.uint16)
    y = rng.integers(0, 480, n).astype(np.uint16)
    p = rng.integers(0, 2, n).astype(np.uint8)
    cuts = sorted({0, n, 1, 105, 106, 2000, 2001, *rng.integers(0, n, 20).tolist()})
    cut_at_ms = int(np.searchsorted(t, 20_000))  # a chunk border exactly at a ms edge
    cuts = sorted({*cuts, cut_at_ms})
    chunks = [(x[a:b], y[a:b], p[a:b], t[a:b]) for a, b in itertools.pairwise(cuts)]
    chunks.insert(3, (x[:0], y[:0], p[:0], t[:0]))  # empty chunks are fine
    path = tmp_path / "events.h5"
    assert write_events_h5(path, chunks, t_offset=123_456_789_000, chunk_rows=64) == n
    ev = read_events(path)
    for name, arr in (("x", x), ("y", y), ("p", p), ("t", t)):
        np.testing.assert_array_equal(ev[name], arr)
    assert ev["t"].dtype == np.uint32 and ev["t_offset"] == 123_456_789_000
    np.testing.assert_array_equal(ev["ms_to_idx"], ms_index(t))
    assert len(ev["ms_to_idx"]) == t[-1] // 1000 + 1


def test_write_events_h5_empty(tmp_path: Path) -> None:
    path = tmp_path / "events.h5"
    assert write_events_h5(path, [], t_offset=0) == 0
    ev = read_events(path)
    assert len(ev["t"]) == 0 and len(ev["ms_to_idx"]) == 0


@pytest.mark.parametrize(
    ("chunks", "message"),
    [
        ([([1], [1], [1], [5]), ([1], [1], [1], [4])], "sorted"),
        ([([1, 2], [1, 2], [1, 2], [7, 6])], "sorted"),
        ([([1, 2], [1], [1, 2], [1, 2])], "length"),
        ([([1], [1], [1], [-1])], "fit"),
        ([([70_000], [1], [1], [1])], "fit"),
    ],
)
def test_write_events_h5_rejects_bad_chunks(tmp_path: Path, chunks: list, message: str) -> None:
    path = tmp_path / "events.h5"
    with pytest.raises(ValueError, match=message):
        write_events_h5(path, [tuple(np.asarray(c) for c in chunk) for chunk in chunks], 0)
    assert not list(tmp_path.iterdir())  # nothing left behind, not even a temp file


def test_real_events_replayed_at_a_lower_rate(tmp_path: Path) -> None:
    from egpt_dsec.layout.dsec import SPLIT_ARCHIVES, SequenceFiles
    from egpt_dsec.synth.real import write_replayed_sequence

    folder = tmp_path / "train" / "replayed"
    count = write_replayed_sequence(folder, 1.0, (64, 48), rate=1.5e6)
    events = read_events(SequenceFiles(folder, layout=SPLIT_ARCHIVES).events_h5)
    assert len(events["t"]) == count
    assert 1.3e6 < count < 1.8e6  # whole windows: the last one may run past the end
    assert bool(np.all(np.diff(events["t"].astype(np.int64)) >= 0))
    np.testing.assert_array_equal(events["ms_to_idx"], ms_index(events["t"].astype(np.int64)))
    with pytest.raises(ValueError, match="above the sample"):
        write_replayed_sequence(tmp_path / "fast", 1.0, (64, 48), rate=1e9)


# --- labels: DSEC-Detection's tracks.npy ---------------------------------------------

DSEC_DETECTION_DTYPE = np.dtype(
    [("t", "<u8"), ("x", "<f4"), ("y", "<f4"), ("w", "<f4"), ("h", "<f4"),
     ("class_id", "u1"), ("class_confidence", "<f4"), ("track_id", "<u4")]
)  # fmt: skip


def test_labels_as_dsec_detection_ships_them(small_root: Path) -> None:
    """One row per object in view per frame time, DSEC-Detection's dtype, no pickle; a
    track is one object over consecutive frames, of one class."""
    for seq in (small_root / "train/synth_00", small_root / "test/synth_test_00"):
        rows = np.load(seq / "object_detections/left/tracks.npy", allow_pickle=False)
        assert rows.dtype == DSEC_DETECTION_DTYPE and len(rows) > 20
        stamps = np.loadtxt(seq / "images/timestamps.txt", dtype=np.int64)
        frame = np.searchsorted(stamps, rows["t"].astype(np.int64))
        assert np.array_equal(stamps[frame], rows["t"].astype(np.int64))  # at frame times
        assert np.all(np.diff(rows["t"].astype(np.int64)) >= 0)
        assert set(np.unique(frame).tolist()) == set(range(len(stamps)))  # every frame
        assert rows["class_id"].max() < 8 and np.all(rows["class_confidence"] == 1)
        assert np.all(rows["w"] >= 2) and np.all(rows["h"] >= 2)
        assert np.all(rows["x"] >= 0) and np.all(rows["x"] + rows["w"] <= 640.001)
        assert np.all(rows["y"] >= 0) and np.all(rows["y"] + rows["h"] <= 480.001)
        assert len(set(zip(rows["t"].tolist(), rows["track_id"].tolist(), strict=True))) == len(
            rows
        )
        for track in np.unique(rows["track_id"]):
            own = rows["track_id"] == track
            assert len(np.unique(rows["class_id"][own])) == 1
            assert np.array_equal(np.diff(frame[own]), np.ones(own.sum() - 1, dtype=np.int64))


def test_labelled_boxes_lie_on_the_moving_shapes(sensor_root: Path) -> None:
    """The raw events of the 5 ms before a frame fall inside that frame's boxes (the
    background noise aside), and every box well in view holds events: the boxes are on
    the objects, in the raw (distorted) event view, as DSEC-Detection's are."""
    seq = sensor_root / "train/synth_00"
    ev = read_events(seq / "events/left/events.h5")
    rows = np.load(seq / "object_detections/left/tracks.npy", allow_pickle=False)
    stamps = np.loadtxt(seq / "images/timestamps.txt", dtype=np.int64)
    t = ev["t"].astype(np.int64) + int(ev["t_offset"])
    for k in (4, 10, 17):
        at = rows[rows["t"] == stamps[k]]
        a, b = np.searchsorted(t, [stamps[k] - 5000, stamps[k]])
        x, y = ev["x"][a:b].astype(np.int64), ev["y"][a:b].astype(np.int64)
        covered = np.zeros((480, 640), dtype=bool)
        for r in at:
            x0, y0 = int(np.floor(r["x"])), int(np.floor(r["y"]))
            x1, y1 = int(np.ceil(r["x"] + r["w"])), int(np.ceil(r["y"] + r["h"]))
            covered[max(y0 - 2, 0) : y1 + 2, max(x0 - 2, 0) : x1 + 2] = True
            if r["w"] > 20 and r["h"] > 20:
                inside = (x >= x0) & (x < x1) & (y >= y0) & (y < y1)
                assert inside.sum() > 20, (k, r)
        assert len(x) > 1000 and covered[y, x].mean() > 0.9 and covered.mean() < 0.7
