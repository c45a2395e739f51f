"""The event tensors against tonic.functional, an independent implementation, wherever the
two definitions coincide (tonic normalizes by the first/last event, bins by time window
or by count; the parameters below make its windows ours). Counts must be equal; floats
agree to float16 rounding (tonic computes in float64 with numpy's exp)."""

from __future__ import annotations

import numpy as np
import pytest
from tonic.functional import to_frame_numpy, to_timesurface_numpy, to_voxel_grid_numpy

from egpt_dsec.events import Events
from egpt_dsec.render.tensor_spec import TensorSpec, parse_tensor_specs
from egpt_dsec.render.tensors import TensorAccumulator
from helpers import REAL_SAMPLE

SENSOR = (640, 480, 2)  # tonic's (W, H, P)
T0 = 1_700_000_000_000


def ours(spec: TensorSpec, ev: dict[str, np.ndarray], t0: int, t1: int) -> np.ndarray:
    events = Events(
        ev["p"].astype(np.uint8), ev["t"].astype(np.int64), ev["x"].astype(np.uint16),
        ev["y"].astype(np.uint16),
    )  # fmt: skip
    acc = TensorAccumulator(spec, t0, t1, len(events))
    step = max(1, len(events) // 5)
    bins = []
    for start in range(0, len(events), step):
        bins += acc.feed(start, events.slice(start, start + step))
    bins += acc.finish()
    return np.stack([arr for _, arr in bins])


def structured(ev: dict[str, np.ndarray]) -> np.ndarray:
    """tonic's event array; p signed, since to_voxel_grid_numpy writes -1 into it."""
    out = np.empty(len(ev["t"]), dtype=[("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])
    for k in ("x", "y", "t", "p"):
        out[k] = ev[k]
    return out


def random_events(seed: int, n: int, span: int) -> dict[str, np.ndarray]:
    """n events in [T0, T0 + span), the first at T0, a third of them in a 4x4 patch."""
    rng = np.random.default_rng(seed)
    t = np.sort(np.concatenate([[T0], rng.integers(T0, T0 + span, n - 1)]))
    x, y = rng.integers(0, 640, n), rng.integers(0, 480, n)
    x[: n // 3], y[: n // 3] = rng.integers(0, 4, n // 3), rng.integers(476, 480, n // 3)
    return {"p": rng.integers(0, 2, n), "t": t, "x": x, "y": y}


@pytest.fixture(scope="module")
def real() -> dict[str, np.ndarray]:
    """A real 50 ms DSEC window: events at every µs, so bin borders are hit."""
    data = np.load(sorted(REAL_SAMPLE.glob("*.npz"))[0])
    return {k: data[k].astype(np.int64) for k in ("p", "t", "x", "y")}


def clips(real: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    return [real, random_events(1, 20_000, 33_000)]


@pytest.mark.parametrize("bins", [1, 2, 5, 10])
def test_histogram_and_frames_are_tonic_frames_by_time_window(real, bins: int) -> None:
    """to_frame(time_window=(t1-t0)/B, start_time=t0, end_time=t1) slices [t0 + iW,
    t0 + (i+1)W): our bin floor(B (t-t0) / (t1-t0)) when B divides t1 - t0. tonic counts
    unclipped, per polarity; frames are the polarity sum."""
    for ev in clips(real):
        t0 = int(ev["t"][0])
        t1 = t0 + (50_000 if ev is real else 33_000)
        frames = to_frame_numpy(
            structured(ev), SENSOR, time_window=(t1 - t0) // bins, start_time=t0, end_time=t1
        )
        assert frames.shape == (bins, 2, 480, 640) and frames.max() > 3
        for cutoff in (255, 3):
            spec = TensorSpec("histogram", bins, cutoff=cutoff)
            np.testing.assert_array_equal(ours(spec, ev, t0, t1), np.minimum(frames, cutoff))
        summed = np.minimum(frames.sum(axis=1), 255)
        np.testing.assert_array_equal(ours(TensorSpec("frames", bins), ev, t0, t1), summed)


@pytest.mark.parametrize("bins", [1, 5, 8, 33])
def test_countframes_are_tonic_frames_by_event_bins(real, bins: int) -> None:
    """to_frame(n_event_bins=B) cuts [i*k, (i+1)*k) with k = n // B and drops the rest; with
    n a multiple of B that is EventGPT's split (whose last part takes the rest)."""
    for ev in clips(real):
        n = len(ev["t"]) // bins * bins
        ev = {k: v[:n] for k, v in ev.items()}
        t0, t1 = int(ev["t"][0]), int(ev["t"][-1]) + 1
        frames = to_frame_numpy(structured(ev), SENSOR, n_event_bins=bins)
        spec = TensorSpec("countframes", bins)
        np.testing.assert_array_equal(ours(spec, ev, t0, t1), np.minimum(frames, 255))


@pytest.mark.parametrize("tonic_bins", [1, 4, 9, 32])
def test_voxel_is_tonic_voxel_grid_with_one_more_bin(real, tonic_bins: int) -> None:
    """tonic: t* = B' (t - t_first) / (t_last - t_first), bins floor(t*) and +1 < B'. Ours
    with B = B' + 1 bins over [t_first, t_last): t* = (B-1)(t - t0)/(t1 - t0), the same
    number. tonic is given one more event at t_last (t* = B': it adds nothing); tonic has
    no bin B', where our last bin keeps the weight tonic drops. Sums: tonic float64 in
    another order, ours float32 then float16."""
    for ev in clips(real):
        t0, t1 = int(ev["t"][0]), int(ev["t"][-1]) + 1
        with_last = {k: np.append(v, t1 if k == "t" else 0) for k, v in ev.items()}
        grid = to_voxel_grid_numpy(structured(with_last), SENSOR, n_time_bins=tonic_bins)
        got = ours(TensorSpec("voxel", tonic_bins + 1), ev, t0, t1)
        assert grid.shape == (tonic_bins, 1, 480, 640) and np.abs(grid).max() > 3
        np.testing.assert_allclose(got[:tonic_bins].astype(np.float64), grid[:, 0], 1e-3, 1e-4)


@pytest.mark.parametrize("tau", [None, 700])
@pytest.mark.parametrize("bins", [1, 4, 10])
def test_timesurface_is_tonic_timesurface(real, bins: int, tau: int | None) -> None:
    """tonic: slices [s + i dt, s + (i+1) dt) from the first event s; surface i =
    exp(-(s + (i+1) dt - t_last) / tau), 0 where none. Ours over [s, s + B dt) with the
    same tau (default: dt). tonic leaves an event at exactly s + (i+1) dt to surface i+1,
    ours counts it in surface i (at or before its end), so those events are left out;
    tonic also gets one more event at s + B dt so that it makes B slices."""
    for ev in clips(real):
        t0 = int(ev["t"][0])
        dt = (50_000 if ev is real else 33_000) // bins
        off_border = (ev["t"] - t0) % dt != 0
        off_border[0] = True
        ev = {k: v[off_border] for k, v in ev.items()}
        with_end = {k: np.append(v, t0 + bins * dt if k == "t" else 0) for k, v in ev.items()}
        surfaces = to_timesurface_numpy(structured(with_end), SENSOR, dt, tau or dt)
        (spec,) = parse_tensor_specs(f"timesurface:{bins}" + (f":{tau}us" if tau else ""))
        got = ours(spec, ev, t0, t0 + bins * dt)
        assert surfaces.shape == got.shape and (surfaces > 0.5).any()
        np.testing.assert_allclose(got.astype(np.float64), surfaces, 1e-3, 1e-7)
