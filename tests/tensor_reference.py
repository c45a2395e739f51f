"""Slow, obvious event tensors: one Python loop over the events, each definition of
docs/tensors.md written out literally. Shares nothing with src/egpt_dsec/render/tensors.py
except TensorSpec (the parsed flag)."""

from __future__ import annotations

import math

import numpy as np

from egpt_dsec.render.tensor_spec import TensorSpec

H, W = 480, 640


def reference_tensor(
    spec: TensorSpec, ev: dict[str, np.ndarray], t0: int, t1: int, h: int = H, w: int = W
) -> np.ndarray:
    """The whole (bins, ...) tensor of the events ``ev`` (keys p, t, x, y) in [t0, t1)."""
    events = list(
        zip(ev["p"].tolist(), ev["t"].tolist(), ev["x"].tolist(), ev["y"].tolist(), strict=True)
    )
    for _, t, x, y in events:
        assert t0 <= t < t1 and 0 <= x < w and 0 <= y < h
    make = {
        "voxel": voxel,
        "histogram": histogram,
        "frames": frames,
        "countframes": countframes,
        "timesurface": timesurface,
    }[spec.name]
    out = make(spec, events, t0, t1, (h, w))
    assert out.shape == spec.shape(h, w) and out.dtype == spec.dtype
    return out


def time_bin(t: int, t0: int, t1: int, bins: int) -> int:
    """floor(bins * (t - t0) / (t1 - t0)), in integers."""
    return (t - t0) * bins // (t1 - t0)


def histogram(spec, events, t0, t1, hw) -> np.ndarray:
    counts = np.zeros((spec.bins, 2, *hw), dtype=np.int64)
    for p, t, x, y in events:
        counts[time_bin(t, t0, t1, spec.bins), 1 if p else 0, y, x] += 1
    return np.minimum(counts, spec.cutoff).astype(np.uint8)


def frames(spec, events, t0, t1, hw) -> np.ndarray:
    counts = np.zeros((spec.bins, *hw), dtype=np.int64)
    for _, t, x, y in events:
        counts[time_bin(t, t0, t1, spec.bins), y, x] += 1
    return np.minimum(counts, 255).astype(np.uint8)


def countframes(spec, events, t0, t1, hw) -> np.ndarray:
    """EventGPT: k = n // N; part i = events [i*k, (i+1)*k); the last part takes the rest."""
    n, parts = len(events), spec.bins
    k = n // parts
    counts = np.zeros((parts, 2, *hw), dtype=np.int64)
    for i, (p, _, x, y) in enumerate(events):
        part = parts - 1
        for j in range(parts - 1):
            if j * k <= i < (j + 1) * k:
                part = j
        counts[part, 1 if p else 0, y, x] += 1
    return np.minimum(counts, 255).astype(np.uint8)


def voxel(spec, events, t0, t1, hw) -> np.ndarray:
    """DSEC's VoxelGrid over the window: t* = (B-1)(t-t0)/(t1-t0); bins floor(t*) and
    floor(t*)+1 get polarity * (1 - |t* - b|); each weight is the exact value rounded to
    float64 then float32, summed in float32 in event order, then float16."""
    bins, span = spec.bins, t1 - t0
    grid = np.zeros((bins, *hw), dtype=np.float32)
    for p, t, x, y in events:
        num = (bins - 1) * (t - t0)  # t* = num / span
        low = num // span
        for b in (low, low + 1):
            if b < bins:
                weight = (span - abs(num - b * span)) / span  # 1 - |t* - b|, one rounding
                sign = 1 if p else -1
                grid[b, y, x] = np.float32(grid[b, y, x] + np.float32(sign * weight))
    if spec.normalize:
        return normalized(grid)
    return np.clip(grid, -65504, 65504).astype(np.float16)


def normalized(grid: np.ndarray) -> np.ndarray:
    """DSEC's normalize=True: over the n non-zero cells, (v - mean) / std with the n - 1
    deviation (v - mean when it is 0 or n is 1); exact sums, each cell in float64."""
    cells = [tuple(c) for c in np.argwhere(grid != 0).tolist()]
    values = [float(grid[c]) for c in cells]
    n = len(values)
    mean = math.fsum(values) / n if n else 0.0
    std = math.sqrt(math.fsum((v - mean) * (v - mean) for v in values) / (n - 1)) if n > 1 else 0
    out = np.zeros(grid.shape, dtype=np.float16)
    for c, v in zip(cells, values, strict=True):
        value = (v - mean) / std if std > 0 else v - mean
        out[c] = np.float16(min(max(value, -65504.0), 65504.0))
    return out


def timesurface(spec, events, t0, t1, hw) -> np.ndarray:
    """Surface i at t_end = t0 + (i+1)(t1-t0)/B: exp(-(t_end - t_last)/tau) of the latest
    event at or before t_end per (polarity, pixel), 0 where none; tau = (t1-t0)/B unless
    given. Ages and tau are scaled by B to stay integers: age/tau = A/Q exactly."""
    bins, span = spec.bins, t1 - t0
    q = span if spec.tau_us is None else bins * spec.tau_us
    out = np.zeros((bins, 2, *hw), dtype=np.float64)
    latest: dict[tuple[int, int, int], int] = {}
    j = 0
    for i in range(bins):
        end = (i + 1) * span  # (t_end - t0) * B
        while j < len(events) and (events[j][1] - t0) * bins <= end:
            p, t, x, y = events[j]
            latest[(1 if p else 0, y, x)] = t
            j += 1
        for (c, y, x), t in latest.items():
            out[i, c, y, x] = math.exp(-((end - (t - t0) * bins) / q))
    return out.astype(np.float16)
