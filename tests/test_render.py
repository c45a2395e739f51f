"""Event images: pixel-exact against slow, obvious reference painters written here."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from egpt_dsec.render import (
    PartPainter,
    new_canvas,
    paint,
    part_bounds,
    render,
    to_pixels,
)
from egpt_dsec.writers.png import save_png

STYLES = ("last", "red", "blue", "gray")
WHITE, RED, BLUE = (255, 255, 255), (255, 0, 0), (0, 0, 255)

REAL_FILES = sorted((Path(__file__).parent / "data" / "real-dsec-sample").glob("*.npz"))
assert REAL_FILES, "tests/data/real-dsec-sample is missing"

Ev = tuple[NDArray[np.uint16], NDArray[np.uint16], NDArray[np.uint8]]


# --- the reference: EventGPT's loops, written as plainly as possible ------------------


def reference(
    x: np.ndarray, y: np.ndarray, p: np.ndarray, style: str, h: int, w: int
) -> np.ndarray:
    xs, ys, ps = x.tolist(), y.tolist(), p.tolist()
    if style == "gray":
        acc = [[0] * w for _ in range(h)]
        for xi, yi, pi in zip(xs, ys, ps, strict=True):
            acc[yi][xi] += -1 if pi == 0 else 1
        gray = np.clip(128 + 32 * np.array(acc, dtype=np.int64), 0, 255)
        return np.stack([gray, gray, gray, np.full_like(gray, 255)], axis=-1).astype(np.uint8)

    img = [[WHITE] * w for _ in range(h)]
    if style == "last":  # inference loop: time order, the last event wins
        for xi, yi, pi in zip(xs, ys, ps, strict=True):
            img[yi][xi] = BLUE if pi == 0 else RED
    else:  # training loader: paint one polarity, then the winner on top
        off_first = style == "red"
        for paint_off in (off_first, not off_first):
            for xi, yi, pi in zip(xs, ys, ps, strict=True):
                if (pi == 0) == paint_off:
                    img[yi][xi] = BLUE if pi == 0 else RED
    return np.array(img, dtype=np.uint8)


def fast(ev: Ev, style: str, h: int, w: int, chunks: list[int] | None = None) -> np.ndarray:
    x, y, p = ev
    canvas = new_canvas(style, h, w)
    if chunks is None:
        paint(canvas, x, y, p)
    else:
        cuts = [0, *np.cumsum(chunks).tolist()]
        assert cuts[-1] == len(x)
        for a, b in itertools.pairwise(cuts):
            paint(canvas, x[a:b], y[a:b], p[a:b])
    return to_pixels(canvas)


def random_events(n: int, h: int, w: int, seed: int) -> Ev:
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, w, n).astype(np.uint16),
        rng.integers(0, h, n).astype(np.uint16),
        rng.integers(0, 2, n).astype(np.uint8),
    )


def colliding_events(n: int, seed: int, x0: int = 300, y0: int = 200) -> Ev:
    """Many events on a 3x3 patch at (x0, y0), polarity mostly alternating."""
    rng = np.random.default_rng(seed)
    x = (x0 + rng.integers(0, 3, n)).astype(np.uint16)
    y = (y0 + rng.integers(0, 3, n)).astype(np.uint16)
    p = (np.arange(n) % 2).astype(np.uint8)
    flip = rng.random(n) < 0.2
    p[flip] ^= 1
    return x, y, p


def load_real(path: Path) -> Ev:
    with np.load(path) as data:
        return data["x"], data["y"], data["p"]


def check(ev: Ev, style: str, h: int = 480, w: int = 640) -> None:
    expected = reference(*ev, style, h, w)
    got = fast(ev, style, h, w)
    assert got.dtype == np.uint8
    assert got.shape == expected.shape == (h, w, 4 if style == "gray" else 3)
    assert np.array_equal(got, expected), (
        f"{style}: {np.sum(np.any(got != expected, -1))} px differ"
    )


# --- part_bounds -----------------------------------------------------------------------


def test_part_bounds_divisible() -> None:
    assert part_bounds(10, 5) == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]


def test_part_bounds_last_takes_rest() -> None:
    assert part_bounds(13, 5) == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 13)]
    assert part_bounds(7, 1) == [(0, 7)]


def test_part_bounds_fewer_events_than_parts() -> None:
    assert part_bounds(3, 5) == [(0, 0), (0, 0), (0, 0), (0, 0), (0, 3)]


def test_part_bounds_no_events() -> None:
    assert part_bounds(0, 5) == [(0, 0)] * 5


def test_part_bounds_cover_everything_once() -> None:
    for n in range(0, 40):
        for parts in range(1, 9):
            b = part_bounds(n, parts)
            assert len(b) == parts and b[0][0] == 0 and b[-1][1] == n
            assert all(b[i][1] == b[i + 1][0] for i in range(parts - 1))


def test_part_bounds_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        part_bounds(10, 0)
    with pytest.raises(ValueError):
        part_bounds(-1, 5)


# --- painting --------------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_random_events(style: str) -> None:
    check(random_events(20_001, 480, 640, seed=1), style)


@pytest.mark.parametrize("style", STYLES)
def test_random_events_small_non_square_canvas(style: str) -> None:
    check(random_events(3_003, 37, 53, seed=2), style, h=37, w=53)


@pytest.mark.parametrize("style", STYLES)
def test_many_collisions_alternating_polarity(style: str) -> None:
    for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 1_001, 10_002):  # every unrolled-loop tail length
        check(colliding_events(n, seed=n, x0=5, y0=4), style, h=10, w=12)
    check(colliding_events(10_003, seed=0), style)  # full sensor


@pytest.mark.parametrize("style", STYLES)
def test_collision_order_decides(style: str) -> None:
    # one pixel: ON, OFF -> last says blue; the other at (1,0): OFF, ON -> last says red
    x = np.array([0, 0, 1, 1], np.uint16)
    y = np.zeros(4, np.uint16)
    p = np.array([1, 0, 0, 1], np.uint8)
    got = render(x, y, p, style, 1, 3)
    expected = {
        "last": [BLUE, RED, WHITE],
        "red": [RED, RED, WHITE],
        "blue": [BLUE, BLUE, WHITE],
        "gray": [(128, 128, 128, 255), (128, 128, 128, 255), (128, 128, 128, 255)],
    }[style]
    assert np.array_equal(got[0], np.array(expected, np.uint8))


def test_gray_saturates_and_balances() -> None:
    n_on = [0, 1, 3, 4, 5, 1000, 0, 0, 0, 0, 0, 7]
    n_off = [0, 0, 0, 0, 0, 0, 1, 3, 4, 5, 1000, 7]
    xs = [i for i in range(12) for _ in range(n_on[i] + n_off[i])]
    ps = [pol for i in range(12) for pol in [1] * n_on[i] + [0] * n_off[i]]
    x = np.array(xs, np.uint16)
    got = render(x, np.zeros_like(x), np.array(ps, np.uint8), "gray", 1, 12)
    assert got[0, :, 0].tolist() == [128, 160, 224, 255, 255, 255, 96, 32, 0, 0, 0, 128]
    assert np.all(got[0, :, 0] == got[0, :, 1]) and np.all(got[0, :, 0] == got[0, :, 2])
    assert np.all(got[..., 3] == 255)


def test_gray_extreme_sums_do_not_overflow() -> None:
    canvas = new_canvas("gray", 1, 4)
    canvas.plane[0] = [2**31 - 1, -(2**31), 67_108_864, -67_108_865]
    assert to_pixels(canvas)[0, :, 0].tolist() == [255, 0, 255, 0]


@pytest.mark.parametrize("style", STYLES)
def test_nonzero_polarity_counts_as_on(style: str) -> None:
    # EventGPT draws `p == 0` blue and anything else red; DSEC only has 0 and 1.
    x = np.arange(6, dtype=np.uint16)
    p = np.array([0, 1, 2, 255, 1, 0], np.uint8)
    check((x, np.zeros_like(x), p), style, h=1, w=6)
    assert np.array_equal(
        render(x, 0 * x, p, style, 1, 6), render(x, 0 * x, np.minimum(p, 1), style, 1, 6)
    )


@pytest.mark.parametrize("style", STYLES)
def test_no_events_is_background(style: str) -> None:
    empty = np.empty(0, np.uint16)
    got = render(empty, empty, np.empty(0, np.uint8), style, 4, 5)
    bg = (128, 128, 128, 255) if style == "gray" else WHITE
    assert np.array_equal(got, np.broadcast_to(np.array(bg, np.uint8), got.shape))


@pytest.mark.skipif(not REAL_FILES, reason="real DSEC sample not available")
@pytest.mark.parametrize("style", STYLES)
def test_real_dsec_events(style: str) -> None:
    for path in REAL_FILES:
        check(load_real(path), style)


@pytest.mark.skipif(not REAL_FILES, reason="real DSEC sample not available")
@pytest.mark.parametrize("style", STYLES)
def test_real_dsec_streaming_equals_one_call(style: str) -> None:
    ev = load_real(REAL_FILES[0])
    n = len(ev[0])
    chunks = [1, 0, 7, 3, n // 3, 4_099, 0]
    chunks.append(n - sum(chunks))  # 7 non-empty-ish uneven pieces plus two empty ones
    assert np.array_equal(fast(ev, style, 480, 640, chunks), fast(ev, style, 480, 640))


@pytest.mark.parametrize("style", STYLES)
def test_streaming_equals_one_call_collisions(style: str) -> None:
    ev = colliding_events(5_000, seed=7)
    chunks = [1, 2, 3, 997, 5, 1_500, 2_492]  # 7 uneven chunks
    whole = fast(ev, style, 480, 640)
    assert np.array_equal(fast(ev, style, 480, 640, chunks), whole)
    assert np.array_equal(whole, reference(*ev, style, 480, 640))


@pytest.mark.parametrize("style", STYLES)
def test_out_of_range_raises_and_paints_nothing(style: str) -> None:
    x, y, p = random_events(100, 10, 20, seed=3)
    canvas = new_canvas(style, 10, 20)
    before = to_pixels(canvas)
    bad_x = x.copy()
    bad_x[57] = 20
    with pytest.raises(ValueError, match="x = 20"):
        paint(canvas, bad_x, y, p)
    bad_y = y.copy()
    bad_y[99] = 65535
    with pytest.raises(ValueError, match="y = 65535"):
        paint(canvas, x, bad_y, p)
    assert np.array_equal(to_pixels(canvas), before)


def test_rejects_wrong_dtypes_lengths_styles() -> None:
    canvas = new_canvas("last", 4, 4)
    x = np.zeros(3, np.uint16)
    with pytest.raises(TypeError):
        paint(canvas, x.astype(np.int64), x, np.zeros(3, np.uint8))
    with pytest.raises(ValueError):
        paint(canvas, x, x[:2], np.zeros(3, np.uint8))
    with pytest.raises(ValueError):
        new_canvas("green")


def test_canvas_clear_reuses() -> None:
    canvas = new_canvas("gray", 4, 4)
    x = np.array([1, 2], np.uint16)
    paint(canvas, x, x, np.array([1, 1], np.uint8))
    canvas.clear()
    assert np.all(to_pixels(canvas)[..., 0] == 128)


# --- PartPainter: count split over streamed chunks -------------------------------------


@pytest.mark.parametrize("style", ["last", "gray"])
@pytest.mark.parametrize(("n", "parts"), [(10_007, 5), (3, 5), (0, 5), (10, 5), (999, 1)])
def test_part_painter_matches_per_part_render(style: str, n: int, parts: int) -> None:
    x, y, p = random_events(n, 48, 64, seed=n)
    expected = [render(x[a:b], y[a:b], p[a:b], style, 48, 64) for a, b in part_bounds(n, parts)]
    painter = PartPainter(n, parts, style, 48, 64)
    got: list[tuple[int, np.ndarray]] = []
    cuts = sorted({0, n, *np.random.default_rng(n).integers(0, n + 1, 6).tolist()})
    for a, b in itertools.pairwise(cuts):
        got.extend(painter.feed(x[a:b], y[a:b], p[a:b]))
    got.extend(painter.finish())
    assert [i for i, _ in got] == list(range(parts))
    for (_, img), exp in zip(got, expected, strict=True):
        assert np.array_equal(img, exp)


def test_part_painter_checks_count() -> None:
    x, y, p = random_events(10, 4, 4, seed=0)
    painter = PartPainter(10, 2, "red", 4, 4)
    painter.feed(x[:6], y[:6], p[:6])
    with pytest.raises(ValueError):
        painter.finish()
    with pytest.raises(ValueError):
        painter.feed(x, y, p)


# --- PNG writer -------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["last", "gray"])
def test_save_png_round_trip_and_deterministic(tmp_path: Path, style: str) -> None:
    pixels = render(*random_events(5_000, 480, 640, seed=5), style)
    a, b = tmp_path / "a" / "000001_0.png", tmp_path / "b.png"
    save_png(a, pixels)
    save_png(b, pixels)
    assert a.read_bytes() == b.read_bytes()
    save_png(a, pixels)  # overwrite in place
    assert a.read_bytes() == b.read_bytes()
    with Image.open(a) as im:
        assert im.mode == ("RGBA" if style == "gray" else "RGB")
        assert np.array_equal(np.asarray(im), pixels)
    assert sorted(os.listdir(tmp_path)) == ["a", "b.png"]
    assert os.listdir(tmp_path / "a") == ["000001_0.png"]


def test_save_png_only_core_chunks(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    save_png(path, np.full((3, 4, 3), 255, np.uint8), compress_level=9)
    data = path.read_bytes()
    chunks, pos = {}, 8
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunks[data[pos + 4 : pos + 8].decode()] = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    assert list(chunks) == ["IHDR", "pHYs", "IDAT", "IEND"]  # no time, text or colour chunk
    assert chunks["pHYs"] == bytes([0, 0, 0, 1, 0, 0, 0, 1, 0])  # square pixels, no unit


def test_save_png_rejects_bad_input_and_leaves_no_temp(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        save_png(tmp_path / "x.png", np.zeros((3, 4), np.uint8))
    with pytest.raises(ValueError):
        save_png(tmp_path / "x.png", np.zeros((3, 4, 3), np.uint8), compress_level=10)
    with pytest.raises(ValueError):
        save_png(tmp_path / "x.png", np.zeros((3, 4, 3), np.float32))
    assert list(tmp_path.iterdir()) == []
