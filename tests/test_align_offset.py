"""The acceptance test of alignment: on a synthetic sequence with known calibration, edges
in the events and the frames coincide (< 1 px) once events are rectified and frames warped,
and are off by the known displacement without that."""

from __future__ import annotations

from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
from PIL import Image

from egpt_dsec.render.alignment import correlate_offset, event_edges, frame_edges, measure_offset
from egpt_dsec.render.rectify import RectifyTable, rectify_events
from egpt_dsec.render.warp import resize_frame, warp_frame_to_event_view
from egpt_dsec.source.calibration import load_calibration, load_rectify_map
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec
from egpt_dsec.synth.dataset import plan_sequence, sequence_slots
from helpers import counts, expected_displacement

SPEC = SynthSpec(sequences=1, seconds=1.0, rate=2e6, seed=0)
FRAMES = (5, 10, 15)
HALF_WINDOW_US = 3000  # events within 3 ms of the frame: shapes move < 1 px


@pytest.fixture(scope="module")
def sequence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dsec_align")
    write_synthetic_dsec(root, SPEC)
    return root / "train" / "synth_00"


def events_near_frames(seq: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(raw x, raw y, frame) for each frame of FRAMES."""
    with h5py.File(seq / "events/left/events.h5", "r") as f:
        x, y, t = f["events/x"][()], f["events/y"][()], f["events/t"][()].astype(np.int64)
        offset = int(f["t_offset"][()])
    stamps = np.loadtxt(seq / "images/timestamps.txt", dtype=np.int64) - offset
    out = []
    for k in FRAMES:
        a, b = np.searchsorted(t, [stamps[k] - HALF_WINDOW_US, stamps[k] + HALF_WINDOW_US])
        frame = np.asarray(Image.open(seq / f"images/left/rectified/{k:06d}.png").convert("RGB"))
        out.append((x[a:b], y[a:b], frame))
    return out


def test_offsets_with_and_without_alignment(sequence: Path) -> None:
    synth = plan_sequence(SPEC, sequence_slots(SPEC)[0]).calibration
    to_event = load_calibration(sequence).frame_to_event_homography()
    table = RectifyTable.from_map(load_rectify_map(sequence))
    for x, y, frame in events_near_frames(sequence):
        assert len(x) > 5000
        known = expected_displacement(synth, x, y)
        assert np.hypot(*known) > 4  # the synthetic cameras are several pixels apart
        unaligned = measure_offset(counts(x, y), resize_frame(frame))
        assert np.hypot(*(np.array(unaligned) - known)) < 1.0
        _, xr, yr = rectify_events(x, y, table)
        aligned = measure_offset(counts(xr, yr), warp_frame_to_event_view(frame, to_event))
        assert np.hypot(*aligned) < 1.0


@pytest.mark.parametrize("shift", [(3.3, -2.6), (-7.8, 0.4), (0.0, 0.0)])
def test_correlation_finds_a_known_subpixel_shift(shift: tuple[float, float]) -> None:
    rng = np.random.default_rng(1)
    img = np.full((240, 320, 3), 128, np.uint8)
    for _ in range(12):
        centre = tuple(int(v) for v in rng.integers(30, 210, 2))
        cv2.circle(img, (centre[0] + 40, centre[1]), int(rng.integers(8, 30)), (20, 200, 90), -1)
    moved = cv2.warpAffine(
        img, np.array([[1.0, 0, shift[0]], [0, 1.0, shift[1]]]), (320, 240), flags=cv2.INTER_LINEAR
    )
    dx, dy = correlate_offset(frame_edges(img), frame_edges(moved))
    assert abs(dx - shift[0]) < 0.15 and abs(dy - shift[1]) < 0.15


def test_event_edges_of_an_event_image() -> None:
    img = np.full((4, 5, 3), 255, np.uint8)
    img[1, 2] = (255, 0, 0)
    img[3, 0] = (0, 0, 255)
    assert np.flatnonzero(event_edges(img)).tolist() == [7, 15]
    assert event_edges(np.array([[0, 2], [1, 0]])).tolist() == [[0, 1], [1, 0]]
    with pytest.raises(ValueError, match="event image"):
        event_edges(np.zeros(3))
