"""Rectifying events through rectify_map, and the synthetic distortion it is tested on."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from egpt_dsec.events import Events
from egpt_dsec.render.rectify import RectifyTable, count_kept, rectify_events, rectify_run
from egpt_dsec.synth.calibration import SynthCalibration, raw_pixel_lookup

W, H = 640, 480


def slow_rectify(x: np.ndarray, y: np.ndarray, rectify_map: np.ndarray) -> list:
    """Per event: look up, round half to even, keep if inside. Obvious and slow."""
    out = []
    for i, (xi, yi) in enumerate(zip(x.tolist(), y.tolist(), strict=True)):
        xr, yr = (
            (round(float(v)) for v in rectify_map[yi, xi])
            if np.all(np.isfinite(rectify_map[yi, xi]))
            else (-1, -1)
        )
        if 0 <= xr < W and 0 <= yr < H:
            out.append((i, xr, yr))
    return out


def awkward_map(rng: np.random.Generator) -> np.ndarray:
    """A map with exact .5 ties, values just outside the image, negatives and NaN."""
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    rmap = np.stack([xs, ys], axis=-1) + rng.normal(0, 3, (H, W, 2)).astype(np.float32)
    ties = rng.random((H, W)) < 0.2
    rmap[ties] = np.floor(rmap[ties]) + 0.5
    rmap[0, :5] = [[-0.5, 0], [-0.51, 0], [639.5, 5], [639.49, 5], [10, 479.5]]
    rmap[1, 0] = [np.nan, 3.0]
    return rmap


def random_events(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.integers(0, W, n).astype(np.uint16)
    y = rng.integers(0, H, n).astype(np.uint16)
    x[:6], y[:6] = [0, 1, 2, 3, 4, 0], [0, 0, 0, 0, 0, 1]  # the awkward pixels
    return x, y


def test_matches_slow_reference() -> None:
    rng = np.random.default_rng(5)
    rmap = awkward_map(rng)
    x, y = random_events(rng, 20_000)
    keep, xr, yr = rectify_events(x, y, RectifyTable.from_map(rmap))
    expected = slow_rectify(x, y, rmap)
    assert np.flatnonzero(keep).tolist() == [i for i, _, _ in expected]
    assert xr.tolist() == [v for _, v, _ in expected] and yr.tolist() == [v for _, _, v in expected]
    assert xr.dtype == np.uint16 and yr.dtype == np.uint16
    # half to even: -0.5 -> 0 kept, -0.51 -> -1 dropped, 639.5 -> 640 dropped, 479.5 -> 480
    assert keep[:6].tolist() == [True, False, False, True, False, False]
    assert 0 < (~keep).sum() < len(x)


def test_count_kept_matches_rectify() -> None:
    rng = np.random.default_rng(7)
    table = RectifyTable.from_map(awkward_map(rng))
    x, y = random_events(rng, 3000)
    assert count_kept(x, y, table) == int(rectify_events(x, y, table)[0].sum()) < 3000
    assert count_kept(x[:0], y[:0], table) == 0
    with pytest.raises(ValueError, match="outside"):
        count_kept(np.array([0], np.uint16), np.array([480], np.uint16), table)


def test_chunks_give_the_same_result() -> None:
    rng = np.random.default_rng(6)
    table = RectifyTable.from_map(awkward_map(rng))
    x, y = random_events(rng, 5000)
    whole = rectify_events(x, y, table)
    cuts = [0, 1, 1, 700, 2999, 5000]
    parts = [rectify_events(x[a:b], y[a:b], table) for a, b in itertools.pairwise(cuts)]
    for i in range(3):
        np.testing.assert_array_equal(whole[i], np.concatenate([p[i] for p in parts]))


def test_rectify_run_keeps_p_and_t_with_their_events() -> None:
    rmap = np.zeros((H, W, 2), np.float32)
    rmap[..., 0], rmap[..., 1] = 2.0, 3.0
    rmap[0, 1] = [700.0, 3.0]  # raw pixel (1, 0) leaves the image
    ev = Events(
        p=np.array([1, 0, 1], np.uint8),
        t=np.array([10, 20, 30], np.int64),
        x=np.array([0, 1, 5], np.uint16),
        y=np.array([0, 0, 9], np.uint16),
    )
    kept, dropped = rectify_run(ev, RectifyTable.from_map(rmap))
    assert dropped == 1
    assert kept.t.tolist() == [10, 30] and kept.p.tolist() == [1, 1]
    assert kept.x.tolist() == [2, 2] and kept.y.tolist() == [3, 3]


def test_events_outside_the_sensor_are_refused() -> None:
    table = RectifyTable.from_map(np.zeros((H, W, 2), np.float32))
    with pytest.raises(ValueError, match="1 events lie outside"):
        rectify_events(np.array([640], np.uint16), np.array([0], np.uint16), table)
    with pytest.raises(ValueError, match="1-d and equally long"):
        rectify_events(np.zeros(2, np.uint16), np.zeros(3, np.uint16), table)


def test_empty_input() -> None:
    keep, xr, yr = rectify_events(
        np.empty(0, np.uint16),
        np.empty(0, np.uint16),
        RectifyTable.from_map(awkward_map(np.random.default_rng(0))),
    )
    assert len(keep) == len(xr) == len(yr) == 0


# --- the synthetic distortion -------------------------------------------------------


@pytest.fixture(scope="module")
def synth() -> SynthCalibration:
    return SynthCalibration.random(np.random.default_rng(4), (640, 480))


def test_synthetic_distortion_is_opencvs(synth: SynthCalibration) -> None:
    """rect -> raw agrees with cv2.initUndistortRectifyMap, as DSEC users compute it."""
    k1, k2, p1, p2 = synth.distortion
    cv_map, _ = cv2.initUndistortRectifyMap(
        synth.cam0.matrix,
        np.array([k1, k2, p1, p2]),
        synth.event_rotation,
        synth.event_rect.matrix,
        (W, H),
        cv2.CV_32FC2,
    )
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    raw_x, raw_y = synth.rect_to_raw(xs, ys)
    assert np.abs(cv_map[..., 0] - raw_x).max() < 1e-3
    assert np.abs(cv_map[..., 1] - raw_y).max() < 1e-3


def test_synthetic_rectify_map_inverts_the_distortion(synth: SynthCalibration) -> None:
    rmap = synth.rectify_map()
    back_x, back_y = synth.rect_to_raw(
        rmap[..., 0].astype(np.float64), rmap[..., 1].astype(np.float64)
    )
    ys, xs = np.mgrid[0:H, 0:W]
    assert np.abs(back_x - xs).max() < 1e-3 and np.abs(back_y - ys).max() < 1e-3
    shift = np.hypot(rmap[..., 0] - xs, rmap[..., 1] - ys)
    assert 3 < shift.max() < 30  # a real distortion, of DSEC's size


def test_raw_pixel_lookup_rounds_back(synth: SynthCalibration) -> None:
    """Every synthetic event generated at rectified pixel r is written at a raw pixel
    that rectify_map sends back to r; the few pixels no raw pixel reaches are dropped."""
    rmap = synth.rectify_map()
    lookup = raw_pixel_lookup(rmap)
    valid = np.flatnonzero(lookup >= 0)
    raw = lookup[valid]
    x, y = (raw % W).astype(np.uint16), (raw // W).astype(np.uint16)
    keep, xr, yr = rectify_events(x, y, RectifyTable.from_map(rmap))
    assert keep.all()
    np.testing.assert_array_equal(yr.astype(np.int64) * W + xr, valid)
    assert 0.9 < len(valid) / lookup.size < 1.0
