"""Warping frames into the event view: against a slow bilinear reference, borders, bytes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from egpt_dsec.render.warp import resize_frame, warp_frame_to_event_view


def smooth_image(w: int, h: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (h, w, 3)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 3) * 3 - 255, 0, 255).astype(np.uint8)


def slow_warp(rgb: np.ndarray, homography: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear sampling at H^-1 of every output pixel, black outside the input."""
    h, w = rgb.shape[:2]
    padded = np.zeros((h + 2, w + 2, 3))
    padded[1:-1, 1:-1] = rgb
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]].astype(np.float64)
    src = np.linalg.inv(homography) @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    sx, sy = src[0] / src[2] + 1, src[1] / src[2] + 1  # +1: the padding
    inside = (sx >= 0) & (sx <= w + 1) & (sy >= 0) & (sy <= h + 1)
    x0 = np.clip(np.floor(sx).astype(int), 0, w)
    y0 = np.clip(np.floor(sy).astype(int), 0, h)
    fx, fy = (sx - x0)[:, None], (sy - y0)[:, None]
    out = (
        padded[y0, x0] * (1 - fx) * (1 - fy)
        + padded[y0, x0 + 1] * fx * (1 - fy)
        + padded[y0 + 1, x0] * (1 - fx) * fy
        + padded[y0 + 1, x0 + 1] * fx * fy
    )
    out[~inside] = 0
    return out.reshape(size[1], size[0], 3)


def test_matches_bilinear_reference() -> None:
    rgb = smooth_image(360, 270)
    homography = np.array([[0.55, 0.01, 12.3], [-0.008, 0.56, -7.9], [1e-5, -2e-5, 1.0]])
    got = warp_frame_to_event_view(rgb, homography, (200, 150)).astype(np.float64)
    expected = slow_warp(rgb, homography, (200, 150))
    interior = np.zeros((150, 200), bool)
    interior[8:-8, 8:-8] = True  # the frame's edge region: blend with black, checked below
    diff = np.abs(got - expected)
    assert diff[interior].max() <= 2 and diff[interior].mean() < 0.5
    assert got.shape == (150, 200, 3) and got.std() > 20


def test_integer_shift_is_exact_with_black_border() -> None:
    rgb = smooth_image(64, 48, seed=1)
    shift = np.array([[1.0, 0, 5], [0, 1.0, -3], [0, 0, 1]])
    got = warp_frame_to_event_view(rgb, shift, (64, 48))
    np.testing.assert_array_equal(got[:45, 5:], rgb[3:, :59])
    assert not got[:, :5].any() and not got[45:].any()


def test_same_bytes_every_time() -> None:
    rgb = smooth_image(1440, 1080, seed=2)
    homography = np.array([[0.45, 0.004, 3.1], [-0.003, 0.45, -14.2], [2e-6, 1e-6, 1.0]])
    a = warp_frame_to_event_view(rgb, homography)
    b = warp_frame_to_event_view(rgb.copy(), homography.copy())
    assert a.shape == (480, 640, 3) and a.dtype == np.uint8
    assert a.tobytes() == b.tobytes()


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="uint8 frame"):
        warp_frame_to_event_view(np.zeros((4, 4), np.uint8), np.eye(3))
    with pytest.raises(ValueError, match="finite 3x3"):
        warp_frame_to_event_view(np.zeros((4, 4, 3), np.uint8), np.full((3, 3), np.nan))


def test_resize_frame() -> None:
    rgb = smooth_image(128, 96, seed=3)
    assert resize_frame(rgb, (128, 96)) is rgb
    small = resize_frame(rgb, (64, 48))
    expected = rgb.reshape(48, 2, 64, 2, 3).mean(axis=(1, 3))
    assert np.abs(small - expected).max() <= 1
