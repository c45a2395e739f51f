"""Events from the scene: at each short time step, sample pixels by their brightness change.

This is the expected-value view of an event camera: a pixel fires in proportion to its
relative brightness change (about ``|Δ log I|``) and with its sign (ON = 1, OFF = 0), so
events gather on moving edges and on flickering shapes, with a small share of uniform
background noise.
Each step gets a fixed number of events (the requested rate, gently modulated over time,
summing exactly to ``round(rate * duration)``), so the mean rate is what was asked.
Events are produced block by block (at most ``BLOCK_EVENTS`` at a time), never for the
whole sequence at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numba import njit
from numpy.typing import NDArray

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH
from egpt_dsec.synth.luminance import LuminanceSteps
from egpt_dsec.synth.scene import Scene

EventChunk = tuple[NDArray[np.uint16], NDArray[np.uint16], NDArray[np.uint8], NDArray[np.uint32]]

STEP_US = 4000  # scene time step; the fastest shapes move about one pixel per step
NOISE_FRACTION = 0.03  # expected share of events placed uniformly, with random polarity
RATE_SWING = 0.3  # the per-step rate follows 1 + RATE_SWING * sin(...), mean preserved
BLOCK_EVENTS = 1 << 19  # events per block (a block always holds at least one step)
BLOCK_STEPS = 1024  # steps per block at most (shape positions are computed per block)
_SENSOR_PIXELS = SENSOR_WIDTH * SENSOR_HEIGHT


def step_bounds(t_end_us: int, step_us: int = STEP_US) -> NDArray[np.int64]:
    """Step edges 0, step, 2*step, ..., t_end (the last step may be shorter)."""
    edges = np.arange(0, t_end_us, step_us, dtype=np.int64)
    return np.append(edges, np.int64(t_end_us))


def step_counts(
    total: int, edges: NDArray[np.int64], rng: np.random.Generator
) -> NDArray[np.int64]:
    """Split ``total`` events over the steps: proportional to length x a slow swing.

    Largest-remainder rounding makes the counts sum to ``total`` exactly.
    """
    lengths = np.diff(edges).astype(np.float64)
    mid_s = (edges[:-1] + edges[1:]) / 2e6
    period = rng.uniform(3.0, 8.0)
    phase = rng.uniform(0.0, 2.0 * np.pi)
    weight = lengths * (1.0 + RATE_SWING * np.sin(2.0 * np.pi * mid_s / period + phase))
    if total == 0 or weight.sum() <= 0:
        return np.zeros(len(lengths), dtype=np.int64)
    expected = total * weight / weight.sum()
    counts = np.floor(expected).astype(np.int64)
    short = total - int(counts.sum())
    if short > 0:
        counts[np.argsort(counts - expected, kind="stable")[:short]] += 1
    return counts


def step_blocks(
    counts: NDArray[np.int64], max_events: int = BLOCK_EVENTS, max_steps: int = BLOCK_STEPS
) -> list[tuple[int, int]]:
    """Consecutive step ranges [a, b) holding at most ``max_events`` events (or one step)."""
    blocks = []
    start, held = 0, 0
    for k, n in enumerate(counts.tolist()):
        if k > start and (held + n > max_events or k - start >= max_steps):
            blocks.append((start, k))
            start, held = k, 0
        held += n
    if len(counts):
        blocks.append((start, len(counts)))
    return blocks


@njit(cache=True, nogil=True, error_model="numpy")
def fill_step(  # noqa: PLR0913  (a Numba kernel takes its arrays one by one)
    idx: NDArray[np.int64],
    delta: NDArray[np.float32],
    cum: NDArray[np.float64],
    m: int,
    offset: float,
    n_noise: int,
    u_noise: NDArray[np.float64],
    u_shuffle: NDArray[np.float32],
    pix_out: NDArray[np.int64],
    pol_out: NDArray[np.uint8],
) -> None:
    """One step's pixels and polarities, in random order.

    Signal events use systematic sampling over the changed pixels: targets
    ``(offset + k) * total / n`` walk once along ``cum``, so each pixel gets its expected
    share of events (floor or ceil), proportional to ``|delta|``, in O(m + n). Polarity
    is the sign of the change. The last ``n_noise`` events (all of them if nothing
    changed) take a uniform pixel and polarity from ``u_noise``. A Fisher-Yates shuffle
    driven by ``u_shuffle`` then mixes them, so sorted times can be drawn independently.
    """
    n = len(pix_out)
    if m == 0 or cum[m - 1] <= 0.0:
        n_noise = n
    n_signal = n - n_noise
    if n_signal > 0:
        stride = cum[m - 1] / n_signal
        j = 0
        for k in range(n_signal):
            target = (offset + k) * stride
            while j < m - 1 and cum[j] <= target:
                j += 1
            pix_out[k] = idx[j]
            pol_out[k] = 1 if delta[j] > 0 else 0
    for k in range(n_signal, n):
        v = min(int(u_noise[k] * (2 * _SENSOR_PIXELS)), 2 * _SENSOR_PIXELS - 1)
        pix_out[k] = v >> 1
        pol_out[k] = v & 1
    for i in range(n - 1, 0, -1):
        j = min(int(u_shuffle[i] * (i + 1)), i)
        pix_out[i], pix_out[j] = pix_out[j], pix_out[i]
        pol_out[i], pol_out[j] = pol_out[j], pol_out[i]


def event_chunks(
    scene: Scene,
    t_end_us: int,
    rate: float,
    rng: np.random.Generator,
    step_us: int = STEP_US,
    block_events: int = BLOCK_EVENTS,
) -> Iterator[EventChunk]:
    """Sorted events with relative times in [0, t_end_us), one chunk per block of steps."""
    edges = step_bounds(t_end_us, step_us)
    counts = step_counts(round(rate * t_end_us / 1e6), edges, rng)
    if not counts.any():
        return
    steps = LuminanceSteps(scene, 0.0)
    for a, b in step_blocks(counts, block_events):
        c = counts[a:b]
        ends_s = edges[a + 1 : b + 1] / 1e6
        geoms = scene.shapes.geometry(ends_s)
        colors = scene.shape_colors(ends_s, 1)
        n = int(c.sum())
        starts = np.concatenate(([0], np.cumsum(c)))
        offsets = rng.random(len(c))
        noise = rng.binomial(c, NOISE_FRACTION)
        u_shuffle = rng.random(n, dtype=np.float32)
        # Times: uniform inside each step; steps are disjoint, so one sort orders all.
        lengths = np.diff(edges[a : b + 1])
        t = np.repeat(edges[a:b], c)
        t += (rng.random(n, dtype=np.float32) * np.repeat(lengths, c)).astype(np.int64)
        t.sort()
        u_noise = np.zeros(n)
        pix = np.empty(n, dtype=np.int64)
        pol = np.empty(n, dtype=np.uint8)
        for j in range(b - a):
            m = steps.advance(geoms[j], colors[j])
            s0, s1 = int(starts[j]), int(starts[j + 1])
            if s0 == s1:
                continue
            if m == 0 or steps.cum[m - 1] <= 0.0:
                noise[j] = s1 - s0  # nothing changed: only noise
            k = s1 - int(noise[j])  # noise events sit at the end of the step's slice
            u_noise[k:s1] = rng.random(s1 - k)
            fill_step(
                steps.idx,
                steps.delta,
                steps.cum,
                m,
                float(offsets[j]),
                int(noise[j]),
                u_noise[s0:s1],
                u_shuffle[s0:s1],
                pix[s0:s1],
                pol[s0:s1],
            )
        if n:
            y, x = np.divmod(pix, SENSOR_WIDTH)
            yield x.astype(np.uint16), y.astype(np.uint16), pol, t.astype(np.uint32)
