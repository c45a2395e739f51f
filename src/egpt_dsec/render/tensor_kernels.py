"""Numba loops of the event tensors (see :mod:`egpt_dsec.render.tensors`).

Every loop walks the events in order, one read-modify-write per event, so a pixel's
value is the same however the events are chunked. Bounds are checked by the caller
(``check_events``); a plane is the flat C-order view of one bin being accumulated.
Polarity: ``p == 0`` is OFF (channel 0, sign -1), any other value ON (channel 1, +1).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray


@njit(cache=True, nogil=True)
def check_events(
    t: NDArray[np.int64],
    x: NDArray[np.uint16],
    y: NDArray[np.uint16],
    t_lo: int,
    t_hi: int,
    width: int,
    height: int,
) -> int:
    """Index of the first event out of order (t < previous, or < t_lo), outside
    [t_lo, t_hi) or outside the sensor; -1 when all are fine."""
    prev = t_lo
    for i in range(t.shape[0]):
        ti = t[i]
        if ti < prev or ti >= t_hi or x[i] >= width or y[i] >= height:
            return i
        prev = ti
    return -1


@njit(cache=True, nogil=True)
def count_by_polarity(
    flat: NDArray[np.uint8],
    x: NDArray[np.uint16],
    y: NDArray[np.uint16],
    p: NDArray[np.uint8],
    width: int,
    cutoff: int,
) -> None:
    """flat = one (2, H, W) bin: +1 at [p != 0, y, x], saturating at ``cutoff``."""
    plane = flat.shape[0] // 2
    for i in range(x.shape[0]):
        j = np.intp(y[i]) * width + np.intp(x[i])
        if p[i] != 0:
            j += plane
        v = flat[j]
        if v < cutoff:
            flat[j] = v + 1


@njit(cache=True, nogil=True)
def count_all(
    flat: NDArray[np.uint8],
    x: NDArray[np.uint16],
    y: NDArray[np.uint16],
    width: int,
    cutoff: int,
) -> None:
    """flat = one (H, W) bin: +1 at [y, x] whatever the polarity, saturating at ``cutoff``."""
    for i in range(x.shape[0]):
        j = np.intp(y[i]) * width + np.intp(x[i])
        v = flat[j]
        if v < cutoff:
            flat[j] = v + 1


@njit(cache=True, nogil=True)
def voxel_add(
    lo: NDArray[np.float32],
    hi: NDArray[np.float32],
    ev: tuple[NDArray[np.uint16], NDArray[np.uint16], NDArray[np.uint8], NDArray[np.int64]],
    scale: int,
    span: int,
    width: int,
    base: int,
) -> None:
    """Events of one voxel segment s = ((t - t0) * scale) // span, ``base`` = t0 * scale
    + s * span: with m = t * scale - base the remainder (no division), lo (bin s) +=
    sign * f32((span - m) / span), hi (bin s + 1) += sign * f32(m / span). An empty
    ``hi`` means bin s + 1 does not exist (s is the last bin)."""
    x, y, p, t = ev
    has_hi = hi.shape[0] > 0
    for i in range(x.shape[0]):
        j = np.intp(y[i]) * width + np.intp(x[i])
        m = t[i] * scale - base
        w_lo = np.float32((span - m) / span)
        w_hi = np.float32(m / span)
        if p[i] == 0:
            w_lo = -w_lo
            w_hi = -w_hi
        lo[j] += w_lo
        if has_hi:
            hi[j] += w_hi


@njit(cache=True, nogil=True)
def stamp_latest(
    last: NDArray[np.int64],
    x: NDArray[np.uint16],
    y: NDArray[np.uint16],
    p: NDArray[np.uint8],
    t: NDArray[np.int64],
    t0: int,
    width: int,
) -> None:
    """last = the (2, H, W) time surface state: t - t0 of the latest event per cell."""
    plane = last.shape[0] // 2
    for i in range(x.shape[0]):
        j = np.intp(y[i]) * width + np.intp(x[i])
        if p[i] != 0:
            j += plane
        last[j] = t[i] - t0


# exp(-x) for x >= this is below 2**-25 (half the smallest float16), even with libm's
# error: its float16 is +0, so the exp is skipped. exp(-17.5) = 2.5e-8 < 2.98e-8.
DECAY_ZERO = 17.5


_HALF_NORMAL = np.int64(1023 - 14) << 52  # the float64 bits of 2**-14, the least normal half
_REBIAS = np.int64(1023 - 15) << 10  # float64 -> float16 exponent bias, at the half's place
_ROUND = (np.int64(1) << 41) - 1  # just under half a float16 ulp, at the float64's place


@njit(cache=True, nogil=True)
def half_bits(bits: int) -> int:
    """The float16 bits of the float64 whose bits are ``bits``, for 0 <= value <= 1:
    rounded to nearest, ties to even, as numpy's float64 -> float16 cast (which is a slow
    software conversion: numpy uses no F16C instruction for float64)."""
    if bits >= _HALF_NORMAL:  # keep 10 of the 52 mantissa bits; a carry bumps the exponent
        return int(((bits + _ROUND + ((bits >> 42) & 1)) >> 42) - _REBIAS)
    field = bits >> 52  # a subnormal float16, in units of 2**-24
    shift = 28 - (field - 1023)  # value = sig * 2**-24 / 2**shift
    if field == 0 or shift >= 54:  # zero, a float64 subnormal, or below 2**-25
        return 0
    sig = (bits & ((np.int64(1) << 52) - 1)) | (np.int64(1) << 52)
    kept = sig >> shift
    rest = sig - (kept << shift)
    half = np.int64(1) << (shift - 1)
    if rest > half or (rest == half and kept & 1):
        kept += 1  # 1024 = the least normal half, as it should
    return int(kept)


@njit(cache=True, nogil=True)
def decay(last: NDArray[np.int64], out: NDArray[np.uint16], end: int, bins: int, q: int) -> None:
    """out (float16 bits) = exp(-(end - last * bins) / q) where a cell fired (last >= 0),
    else 0.

    ``end`` is (i + 1) * (t1 - t0), the end of surface i scaled by ``bins``; the integer
    difference and ``q`` are exact in float64, the quotient is IEEE-rounded, exp is libm's,
    the float16 rounding is numpy's (``half_bits``).
    """
    value = np.empty(1, dtype=np.float64)
    value_bits = value.view(np.int64)  # the float64's bits, to round them to float16
    for j in range(last.shape[0]):
        v = last[j]
        out[j] = 0
        if v >= 0:
            x = np.float64(end - v * bins) / np.float64(q)
            if x < DECAY_ZERO:
                value[0] = math.exp(-x)
                out[j] = half_bits(value_bits[0])
