"""Event tensors: the streaming accumulators bit-identical to the slow reference loops of
tensor_reference.py, on random and real DSEC events, however the clip is chunked."""

from __future__ import annotations

import io
import os
import tracemalloc
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

from egpt_dsec.events import Events
from egpt_dsec.render.tensor_kernels import half_bits
from egpt_dsec.render.tensor_spec import TensorSpec, parse_tensor_specs
from egpt_dsec.render.tensors import (
    TensorAccumulator,
    tensor_bytes,
    tensor_file_size,
    tensor_npy_header,
)
from helpers import REAL_SAMPLE
from tensor_reference import reference_tensor

BINS = (1, 2, 5, 10, 33)
# Every kind, plus the two optional parameters (a low cutoff that saturates, a tau).
KIND_TEXTS = ("voxel", "histogram", "histogram:*:3", "frames", "countframes", "timesurface")
KIND_TEXTS += ("timesurface:*:700us",)
NORM = "voxel:*:norm"  # holds its whole grid: not in the bounded-memory tests
T0 = 1_700_000_000_000  # an absolute µs time like DSEC's


def spec_of(text: str, bins: int) -> TensorSpec:
    name, *rest = text.split(":")
    (spec,) = parse_tensor_specs(":".join([name, str(bins), *rest[1:]]))
    return spec


def as_events(ev: dict[str, np.ndarray]) -> Events:
    return Events(
        ev["p"].astype(np.uint8),
        ev["t"].astype(np.int64),
        ev["x"].astype(np.uint16),
        ev["y"].astype(np.uint16),
    )


def border_times(t0: int, span: int) -> list[int]:
    """Each tested bin count's exact bin borders (and the µs before them), the voxel
    segment borders (bins - 1 parts) and both ends of the window."""
    times = {t0, t0 + span - 1}
    for bins in {*BINS, *(b - 1 for b in BINS if b > 1)}:
        for i in range(1, bins + 1):
            edge = t0 - (-i * span // bins)  # ceil: the first µs of the next bin
            times.update({edge, edge - 1, t0 + i * span // bins})
    return sorted(t for t in times if t0 <= t < t0 + span)


def random_clip(seed: int, n: int, span: int) -> dict[str, np.ndarray]:
    """n uniform events plus every border time, in time order; a third of the events in a
    4x4 patch (sums of many events per cell), 300 on one hot pixel (counts past 255), 40
    on the sensor corners (0, 0) and (639, 479)."""
    rng = np.random.default_rng(seed)
    borders = np.repeat(border_times(T0, span), 2)
    t = np.concatenate([rng.integers(T0, T0 + span, n + 300), borders])
    m = len(t)
    x = rng.integers(0, 640, m)
    y = rng.integers(0, 480, m)
    patch = rng.choice(m, m // 3, replace=False)
    x[patch], y[patch] = rng.integers(300, 304, len(patch)), rng.integers(200, 204, len(patch))
    x[-300:], y[-300:] = 17, 400  # hot pixel
    corners = rng.choice(m - 300, 40, replace=False)
    x[corners[:20]], y[corners[:20]] = 0, 0
    x[corners[20:]], y[corners[20:]] = 639, 479
    order = np.argsort(t, kind="stable")
    p = rng.integers(0, 2, m)
    return {"p": p[order], "t": t[order], "x": x[order], "y": y[order]}


def chunk_sizes(n: int, mode: str, rng: np.random.Generator) -> list[int]:
    if mode == "one":
        return [n]
    if mode == "single":
        return [1] * n
    sizes = []
    while sum(sizes) < n:  # random sizes, empty chunks included
        sizes.append(int(min(rng.integers(0, max(2, n // 7)), n - sum(sizes))))
    return sizes


def stream(
    spec: TensorSpec, ev: Events, t0: int, t1: int, sizes: list[int], lazy: bool = False
) -> np.ndarray:
    """Feed the chunks, check the emission contract, stack the bins."""
    acc = TensorAccumulator(spec, t0, t1, len(ev))
    got = []
    offset = 0
    for size in sizes:
        chunk = ev.slice(offset, offset + size)
        got.extend(acc.feed_iter(offset, chunk) if lazy else acc.feed(offset, chunk))
        offset += size
    got.extend(acc.finish())
    assert [b for b, _ in got] == list(range(spec.bins))
    for _, arr in got:
        assert arr.shape == spec.bin_shape(480, 640) and arr.dtype == spec.dtype
    assert len(acc.live_arrays()) <= 2
    return np.stack([arr for _, arr in got])


def assert_same(got: np.ndarray, want: np.ndarray) -> None:
    """Bit-identical: same shape, dtype and bytes (so -0.0 != 0.0, NaN would show)."""
    assert got.shape == want.shape and got.dtype == want.dtype
    if got.tobytes() != want.tobytes():
        bad = np.argwhere(
            got.view(np.uint8 if got.itemsize == 1 else np.uint16)
            != want.view(np.uint8 if want.itemsize == 1 else np.uint16)
        )
        where = tuple(bad[0])
        raise AssertionError(
            f"{len(bad)} cells differ, first {where}: {got[where]} != {want[where]}"
        )


# --- the spec flag --------------------------------------------------------------------


def test_specs_parse_sort_dedupe_and_round_trip() -> None:
    text = "timesurface:4:50ms, voxel:5,histogram:10,frames:8,countframes:8,voxel:5,"
    text += "histogram:10:255,timesurface:4,timesurface:4:50000us,histogram:2:10,voxel:5:NORM"
    specs = parse_tensor_specs(text)
    assert [s.text for s in specs] == [
        "voxel:5",
        "voxel:5:norm",
        "histogram:2:10",
        "histogram:10",
        "frames:8",
        "countframes:8",
        "timesurface:4",
        "timesurface:4:50ms",
    ]
    assert [s.label for s in specs] == [
        "voxel5",
        "voxel5_norm",
        "histogram2_cutoff10",
        "histogram10",
        "frames8",
        "countframes8",
        "timesurface4",
        "timesurface4_tau50ms",
    ]
    for spec in specs:
        assert parse_tensor_specs(spec.text) == (spec,)
    assert (
        parse_tensor_specs("Voxel:1, timesurface:1000:1500us")[1].text == "timesurface:1000:1500us"
    )
    shapes = {s.name: (s.shape(480, 640), s.dtype.str) for s in specs}
    assert shapes == {
        "voxel": ((5, 480, 640), "<f2"),
        "histogram": ((10, 2, 480, 640), "|u1"),
        "frames": ((8, 480, 640), "|u1"),
        "countframes": ((8, 2, 480, 640), "|u1"),
        "timesurface": ((4, 2, 480, 640), "<f2"),
    }


@pytest.mark.parametrize(
    "bad",
    ["voxel", "voxel:0", "voxel:1001", "voxel:5:nrm", "voxel:65:norm", "histogram:5:norm",
     "grid:5", "histogram:5:0", "histogram:5:256", "frames:5:3", "timesurface:5:0ms",
     "timesurface:5:5m", "voxel:-1", ""],
)  # fmt: skip
def test_bad_specs_name_the_item_and_the_forms(bad: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_tensor_specs(f"histogram:3,{bad}" if bad else " , ")
    message = str(err.value)
    assert "voxel:B" in message and "timesurface:B[:TAU]" in message
    if bad:
        assert repr(bad) in message


# --- exact against the reference ------------------------------------------------------


@pytest.mark.parametrize("span", [33_000, 10_007])  # bins divide it / a prime span
@pytest.mark.parametrize("bins", BINS)
@pytest.mark.parametrize("kind", [*KIND_TEXTS, NORM])
def test_random_events_match_the_reference(kind: str, bins: int, span: int) -> None:
    spec = spec_of(kind, bins)
    raw = random_clip(bins * 7 + span, 1500, span)
    ev = as_events(raw)
    want = reference_tensor(spec, raw, T0, T0 + span)
    assert want.any()
    rng = np.random.default_rng(bins)
    for mode in ("one", "random", "single"):
        assert_same(stream(spec, ev, T0, T0 + span, chunk_sizes(len(ev), mode, rng)), want)
    assert_same(stream(spec, ev, T0, T0 + span, chunk_sizes(len(ev), "random", rng), True), want)


@pytest.fixture(scope="module")
def real() -> tuple[dict[str, np.ndarray], int, int]:
    """A real 50 ms DSEC window (interlaken_00_d, 136k events; every µs holds events)."""
    data = np.load(sorted(REAL_SAMPLE.glob("*.npz"))[-1])
    raw = {k: data[k] for k in ("p", "t", "x", "y")}
    t0 = int(raw["t"][0])
    return raw, t0, t0 + 50_000


@pytest.mark.parametrize("bins", [1, 5, 33])
@pytest.mark.parametrize("kind", [*KIND_TEXTS, NORM])
def test_real_events_match_the_reference(real, kind: str, bins: int) -> None:
    raw, t0, t1 = real
    spec = spec_of(kind, bins)
    ev = as_events(raw)
    want = reference_tensor(spec, raw, t0, t1)
    rng = np.random.default_rng(bins)
    for mode in ("one", "random"):
        assert_same(stream(spec, ev, t0, t1, chunk_sizes(len(ev), mode, rng)), want)


@pytest.mark.parametrize("kind", [*KIND_TEXTS, NORM])
def test_empty_clip_gives_zero_bins(kind: str) -> None:
    for bins in (1, 5):
        spec = spec_of(kind, bins)
        empty = Events.empty()
        got = stream(spec, empty, T0, T0 + 1000, [0, 0])
        assert_same(got, np.zeros(spec.shape(480, 640), spec.dtype))
        assert_same(got, reference_tensor(spec, empty.as_dict(), T0, T0 + 1000))


@pytest.mark.parametrize("n", [1, 3, 4])
@pytest.mark.parametrize("bins", [5, 10, 33])
def test_countframes_with_fewer_events_than_bins(n: int, bins: int) -> None:
    """k = n // bins = 0: parts 0..bins-2 are empty, the last holds every event."""
    spec = spec_of("countframes", bins)
    raw = random_clip(n, 0, 2000)
    raw = {k: v[:n] for k, v in raw.items()}
    got = stream(spec, as_events(raw), T0, T0 + 2000, [1] * n)
    assert not got[:-1].any() and got[-1].sum() == n
    assert_same(got, reference_tensor(spec, raw, T0, T0 + 2000))


# --- the emission contract ------------------------------------------------------------


def one_event(t: int, x: int = 5, y: int = 7, p: int = 1) -> Events:
    return Events(
        np.array([p], np.uint8), np.array([t], np.int64), np.array([x], np.uint16),
        np.array([y], np.uint16),
    )  # fmt: skip


def emitted(bins: Iterable[tuple[int, np.ndarray]]) -> list[int]:
    return [b for b, _ in bins]


def test_time_bins_are_emitted_when_a_later_event_arrives() -> None:
    acc = TensorAccumulator(spec_of("histogram", 10), T0, T0 + 10_000, 3)
    assert emitted(acc.feed(0, one_event(T0))) == []
    assert emitted(acc.feed(1, one_event(T0 + 3_500))) == [0, 1, 2]  # bin 3 reached
    assert emitted(acc.feed(2, one_event(T0 + 3_999))) == []
    assert emitted(acc.finish()) == list(range(3, 10))


def test_voxel_bins_wait_for_both_neighbouring_segments() -> None:
    """bins 5: segments of 10_000 / 4 µs; an event of segment s still changes bin s + 1."""
    acc = TensorAccumulator(spec_of("voxel", 5), T0, T0 + 10_000, 3)
    assert emitted(acc.feed(0, one_event(T0 + 2_499))) == []  # t* = 0.9996: bins 0, 1
    first = acc.feed(1, one_event(T0 + 2_500))  # t* = 1: all its weight in bin 1
    assert emitted(first) == [0] and first[0][1][7, 5] == np.float16(np.float32(4 / 10_000))
    got = acc.feed(2, one_event(T0 + 7_500, p=0))  # t* = 3: -1 in bin 3
    assert emitted(got) == [1, 2]
    assert got[0][1][7, 5] == np.float16(np.float32(9_996 / 10_000) + np.float32(1))
    assert got[1][1][7, 5] == 0.0
    rest = acc.finish()
    assert emitted(rest) == [3, 4] and rest[0][1][7, 5] == -1.0 and rest[1][1][7, 5] == 0.0
    assert not np.signbit(rest[1][1]).any()  # the event's -0.0 weight leaves +0.0


def test_timesurface_takes_events_at_its_end_time() -> None:
    """Surface 0 ends at t0 + 1000: an event at exactly that time is in it (age 0 -> 1.0)."""
    acc = TensorAccumulator(spec_of("timesurface", 4), T0, T0 + 4_000, 3)
    assert emitted(acc.feed(0, one_event(T0 + 1_000))) == []
    got = acc.feed(1, one_event(T0 + 1_001, x=6))
    assert emitted(got) == [0] and got[0][1][1, 7, 5] == 1.0 and got[0][1][1, 7, 6] == 0.0
    got = acc.feed(2, one_event(T0 + 3_999, x=9, p=0))
    assert emitted(got) == [1, 2]
    # surface 2 at t0 + 3000, tau = 1000: the first event is 2000 µs old -> exp(-2)
    assert got[1][1][1, 7, 5] == np.float16(np.exp(-2.0)) and got[1][1][0, 7, 9] == 0.0
    last = acc.finish()
    assert emitted(last) == [3] and last[0][1][0, 7, 9] == np.float16(np.exp(-0.001))


def test_countframes_parts_are_emitted_as_soon_as_their_last_event_is_fed() -> None:
    """n = 7, 3 parts: k = 2, parts [0, 2), [2, 4), [4, 7)."""
    raw = random_clip(1, 7, 1_000)
    ev = as_events({k: v[:7] for k, v in raw.items()})
    acc = TensorAccumulator(spec_of("countframes", 3), T0, T0 + 1_000, 7)
    assert emitted(acc.feed(0, ev.slice(0, 2))) == [0]
    assert emitted(acc.feed(2, ev.slice(2, 3))) == []
    assert emitted(acc.feed(3, ev.slice(3, 4))) == [1]
    assert emitted(acc.feed(4, ev.slice(4, 7))) == [2]
    assert acc.finish() == []


def test_empty_bins_share_one_read_only_zero_array() -> None:
    acc = TensorAccumulator(spec_of("frames", 50), T0, T0 + 50_000, 2)
    acc.feed(0, one_event(T0))
    got = acc.feed(1, one_event(T0 + 49_999))
    assert emitted(got) == list(range(49))
    assert got[0][1][7, 5] == 1 and got[0][1].flags.writeable
    zeros = {id(arr) for _, arr in got[1:]}
    assert len(zeros) == 1 and not got[1][1].flags.writeable and not got[1][1].any()


@pytest.mark.parametrize("kind", KIND_TEXTS)
def test_bad_input_is_refused(kind: str) -> None:
    spec = spec_of(kind, 4)
    acc = TensorAccumulator(spec, T0, T0 + 1_000, 3)
    bins = emitted(acc.feed(0, one_event(T0 + 500)))
    for offset, event, what in [
        (1, one_event(T0 + 499), "out of order"),
        (1, one_event(T0 + 1_000), "outside"),
        (1, one_event(T0 + 600, x=640), "outside"),
        (1, one_event(T0 + 600, y=480), "outside"),
        (2, one_event(T0 + 600), "offset 2, expected 1"),
    ]:
        with pytest.raises(ValueError, match=what):
            acc.feed(offset, event)
    with pytest.raises(ValueError, match="got 1 events, expected 3"):
        acc.finish()
    pending = acc.feed_iter(1, one_event(T0 + 999))
    with pytest.raises(RuntimeError, match="not all taken"):
        acc.feed(2, one_event(T0 + 999))
    bins += emitted(pending)
    bins += emitted(acc.feed(2, one_event(T0 + 999)))
    with pytest.raises(ValueError, match="fed 4 events, expected 3"):
        acc.feed(3, one_event(T0 + 999))
    assert bins + emitted(acc.finish()) == [0, 1, 2, 3]  # the refused calls changed nothing
    with pytest.raises(ValueError, match="t0 = "):
        TensorAccumulator(spec, T0, T0, 0)
    with pytest.raises(ValueError, match="empty window"):
        TensorAccumulator(spec, T0 + 100, T0, 0)


def test_a_normalized_voxel_comes_out_whole_at_the_end_with_mean_0_and_std_1() -> None:
    spec, plain = spec_of(NORM, 5), spec_of("voxel", 5)
    raw = random_clip(11, 3000, 20_000)
    ev = as_events(raw)
    acc = TensorAccumulator(spec, T0, T0 + 20_000, len(ev))
    assert acc.feed(0, ev) == []  # nothing before the clip ends
    assert [a.nbytes for a in acc.live_arrays()] == [5 * 480 * 640 * 4]  # the grid
    got = np.stack([arr for _, arr in acc.finish()])
    zero = reference_tensor(plain, raw, T0, T0 + 20_000) == 0
    assert np.array_equal(got == 0, zero)  # the same cells are empty (none rounds to 0 here)
    values = got[~zero].astype(np.float64)
    assert abs(values.mean()) < 1e-3 and abs(values.std(ddof=1) - 1) < 1e-3


def test_a_normalized_voxel_of_equal_cells_is_centred_only() -> None:
    """std 0 (every non-zero cell the same): v - mean, so all zeros; one event: the same."""
    for n in (1, 4):
        ev = Events(
            np.ones(n, np.uint8), T0 + np.zeros(n, np.int64), np.arange(n, dtype=np.uint16),
            np.zeros(n, np.uint16),
        )  # fmt: skip
        got = np.load(io.BytesIO(tensor_bytes(spec_of(NORM, 3), ev, T0, T0 + 100)))
        assert_same(got, np.zeros((3, 480, 640), np.float16))


# --- saturation and exact values --------------------------------------------------------


def test_counts_saturate_and_voxels_stay_finite() -> None:
    """70,000 ON events on one pixel: counts clip at 255 (or the cutoff), the voxel sum at
    the float16 maximum 65504 instead of inf."""
    n = 70_000
    ev = Events(
        np.ones(n, np.uint8), T0 + np.arange(n, dtype=np.int64), np.full(n, 639, np.uint16),
        np.full(n, 479, np.uint16),
    )  # fmt: skip
    want = {"voxel": 65504.0, "histogram": 255, "histogram:*:3": 3, "frames": 255}
    want |= {"countframes": 255, "timesurface": 1.0}
    for kind, value in want.items():
        got = np.load(io.BytesIO(tensor_bytes(spec_of(kind, 1), ev, T0, T0 + n)))
        assert got.reshape(-1)[-1] == value and np.isfinite(got.astype(np.float64)).all()
    assert_same(
        np.load(io.BytesIO(tensor_bytes(spec_of("voxel", 1), ev, T0, T0 + n))),
        reference_tensor(spec_of("voxel", 1), ev.as_dict(), T0, T0 + n),
    )


# --- files ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KIND_TEXTS)
def test_bins_written_at_their_offsets_load_as_one_npy(tmp_path: Path, kind: str) -> None:
    spec = spec_of(kind, 5)
    raw = random_clip(5, 800, 5_000)
    ev = as_events(raw)
    header = tensor_npy_header(spec)
    assert header.startswith(b"\x93NUMPY\x01\x00") and len(header) % 64 == 0
    path = tmp_path / f"clip_{spec.label}.npy"
    fd = os.open(path, os.O_CREAT | os.O_WRONLY)
    try:
        os.ftruncate(fd, tensor_file_size(spec))
        os.pwrite(fd, header, 0)
        acc = TensorAccumulator(spec, T0, T0 + 5_000, len(ev))
        for part in (acc.feed(0, ev.slice(0, 400)), acc.feed(400, ev.slice(400, len(ev)))):
            for b, arr in part:
                os.pwrite(fd, arr.tobytes(), len(header) + b * spec.bin_nbytes(480, 640))
        for b, arr in acc.finish():
            os.pwrite(fd, arr.tobytes(), len(header) + b * spec.bin_nbytes(480, 640))
    finally:
        os.close(fd)
    assert path.stat().st_size == tensor_file_size(spec)
    loaded = np.load(path, allow_pickle=False)
    assert_same(loaded, reference_tensor(spec, raw, T0, T0 + 5_000))
    assert path.read_bytes() == tensor_bytes(spec, ev, T0, T0 + 5_000)


# --- bounded memory -------------------------------------------------------------------


def gappy_clip(span: int) -> Events:
    """20,000 events in the first and the last 1% of a long window: one event passes ~980
    of 1000 bins."""
    rng = np.random.default_rng(3)
    t = np.sort(
        np.concatenate(
            [rng.integers(0, span // 100, 10_000), span - 1 - rng.integers(0, span // 100, 10_000)]
        )
    )
    n = len(t)
    return Events(
        rng.integers(0, 2, n).astype(np.uint8), T0 + t,
        rng.integers(0, 640, n).astype(np.uint16), rng.integers(0, 480, n).astype(np.uint16),
    )  # fmt: skip


@pytest.mark.parametrize("kind", KIND_TEXTS)
def test_memory_stays_at_a_couple_of_bins_with_1000_bins(kind: str) -> None:
    spec = spec_of(kind, 1000)
    span = 16_000_000  # a 16 s clip
    ev = gappy_clip(span)
    one_bin = 2 * 480 * 640 * 8  # the largest live array: the time surface state, int64
    tensor_bytes(spec_of(kind, 3), ev.slice(0, 10), T0, T0 + span)  # load the kernels first
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        acc = TensorAccumulator(spec, T0, T0 + span, len(ev))
        seen = []
        for start in range(0, len(ev), 1_000):
            stop = min(start + 1_000, len(ev))
            for b, arr in acc.feed_iter(start, ev.slice(start, stop)):
                seen.append(b)
                assert sum(a.nbytes for a in acc.live_arrays()) <= 2 * one_bin
                del arr
        seen.extend(b for b, _ in acc.finish_iter())
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert seen == list(range(1000))
    assert len(acc.live_arrays()) <= 2
    # O(bins) would be >= 1000 bins x 0.3 MB; this is the live arrays + a bin's work (the
    # time surface: 4.9 MB state, 2.5 MB float64 scratch, 2 x 1.2 MB surfaces)
    assert peak < 2.5 * one_bin, f"{spec.text}: peak {peak / 1e6:.1f} MB"


def test_float16_rounding_of_the_time_surface_is_numpys() -> None:
    """decay rounds float64 to float16 itself (numpy's cast is ~20x slower): every float16
    of [0, 1], the midpoints between them and their float64 neighbours, random values."""
    rng = np.random.default_rng(0)
    halves = np.arange(0x3C01, dtype=np.uint16).view(np.float16).astype(np.float64)
    mids = (halves[:-1] + halves[1:]) / 2
    values = np.concatenate(
        [halves, mids, np.nextafter(mids, 0), np.nextafter(mids, 1), rng.random(50_000),
         np.exp(-18 * rng.random(50_000)), [2.0**-25, np.nextafter(2.0**-25, 1), 5e-324]]
    )  # fmt: skip
    got = np.array([half_bits(int(b)) for b in values.view(np.int64)], dtype=np.uint16)
    assert_same(got.view(np.float16), values.astype(np.float16))
