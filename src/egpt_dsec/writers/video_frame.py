"""Decoded RGB frames as yuv420p video frames, converted once for every encoder.

The colour conversion is done here in integer arithmetic rather than by swscale, whose
SIMD paths may round differently per CPU: the same frames give the same bytes everywhere.
A compiled kernel writes the planes of the encoder's frame in one pass (about 2 ms for
a 1440x1080 frame, against 17 ms for the NumPy form, :func:`rgb_to_yuv420`, which
stays as the readable reference the kernel is tested against).
"""

from __future__ import annotations

import av
import numpy as np
from numba import njit
from numpy.typing import NDArray
from PIL import Image

PIX_FMT = "yuv420p"
# Signalled in the stream (VUI) and used by to_video_frame: BT.601 limited range is also what
# decoders that ignore the VUI (OpenCV, older decord) assume, so every reader agrees.
COLORSPACE_SMPTE170M = 6  # AVCOL_SPC_SMPTE170M (BT.601)
COLOR_RANGE_MPEG = 1  # AVCOL_RANGE_MPEG (limited, 16-235)


def video_size(
    source_width: int, source_height: int, size: tuple[int, int] | None
) -> tuple[int, int]:
    """The encoded (width, height): ``size`` or the source size, each rounded down to even.

    yuv420p stores one chroma sample per 2x2 block, so x264 needs even dimensions.
    """
    width, height = size if size is not None else (source_width, source_height)
    width, height = width - width % 2, height - height % 2
    if width < 2 or height < 2:
        raise ValueError(f"video size must be at least 2x2, got {width}x{height}")
    return width, height


def to_video_frame(rgb: NDArray[np.uint8], width: int, height: int) -> av.VideoFrame:
    """``rgb`` (H, W, 3) as a yuv420p frame of ``width`` x ``height``, ready for any encoder.

    Converting once here lets one decoded frame feed every open clip. A source one pixel
    larger than the target (odd size rounded down) is cropped, not resampled, so the picture
    stays sharp; any other size is resized with Pillow (fixed-point, deterministic).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB array, got {rgb.shape} {rgb.dtype}")
    if width < 2 or height < 2 or width % 2 or height % 2:
        raise ValueError(f"yuv420p needs an even size of at least 2x2, got {width}x{height}")
    src_h, src_w = rgb.shape[:2]
    if 0 <= src_w - width <= 1 and 0 <= src_h - height <= 1:
        rgb = rgb[:height, :width]
    else:
        resized = Image.fromarray(np.ascontiguousarray(rgb)).resize(
            (width, height), Image.Resampling.BILINEAR
        )
        rgb = np.asarray(resized, dtype=np.uint8)
    frame = av.VideoFrame(width, height, PIX_FMT)
    y, u, v = (
        np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
        for plane in frame.planes
    )
    _rgb_to_yuv420_into(rgb, y, u, v, _Y, _CB, _CR)
    frame.colorspace = COLORSPACE_SMPTE170M
    frame.color_range = COLOR_RANGE_MPEG
    return frame


# BT.601 limited range (ITU-R BT.601, studio swing) in 16-bit fixed point: value * 2**16 / 255.
def _fixed(coefficients: tuple[float, float, float]) -> tuple[int, int, int]:
    r, g, b = (round(c * 65536 / 255) for c in coefficients)
    return r, g, b


_Y = _fixed((65.481, 128.553, 24.966))
_CB = _fixed((-37.797, -74.203, 112.0))
_CR = _fixed((112.0, -93.786, -18.214))


def rgb_to_yuv420(
    rgb: NDArray[np.uint8],
) -> tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]:
    """BT.601 limited-range Y, U, V planes of an even-sized RGB image; chroma is the 2x2 mean.

    Integer arithmetic only, so the result is the same bit for bit on every CPU.
    """
    height, width = rgb.shape[:2]
    if height % 2 or width % 2:
        raise ValueError(f"yuv420p needs an even size, got {width}x{height}")
    planes = np.ascontiguousarray(rgb.transpose(2, 0, 1))  # planar: contiguous, faster math
    luma = _weigh(planes, _Y, 16 << 16, 16)
    # 2x2 sums (4x the mean) keep full precision; the extra factor 4 goes into the shift.
    sums = planes[:, 0::2, :].astype(np.uint16)
    sums += planes[:, 1::2, :]
    sums = sums[:, :, 0::2] + sums[:, :, 1::2]
    cb = _weigh(sums, _CB, 128 << 18, 18)
    cr = _weigh(sums, _CR, 128 << 18, 18)
    return luma, cb, cr


def _weigh(
    planes: NDArray[np.uint8] | NDArray[np.uint16],
    weights: tuple[int, int, int],
    offset: int,
    shift: int,
) -> NDArray[np.uint8]:
    """(wr*r + wg*g + wb*b + offset) >> shift over (3, H, W) planes, rounded, as uint8."""
    acc = np.multiply(planes[0], weights[0], dtype=np.int32)
    acc += np.multiply(planes[1], weights[1], dtype=np.int32)
    acc += np.multiply(planes[2], weights[2], dtype=np.int32)
    acc += offset + (1 << (shift - 1))
    acc >>= shift
    np.clip(acc, 0, 255, out=acc)
    return acc.astype(np.uint8)


@njit(cache=True, nogil=True)
def _rgb_to_yuv420_into(
    rgb: NDArray[np.uint8],
    y: NDArray[np.uint8],
    u: NDArray[np.uint8],
    v: NDArray[np.uint8],
    wy: tuple[int, int, int],
    wu: tuple[int, int, int],
    wv: tuple[int, int, int],
) -> None:
    """:func:`rgb_to_yuv420` of an even-sized ``rgb``, written into plane rows (which may
    be longer than the image: line padding). The same integers, so the same bytes."""
    for row in range(0, rgb.shape[0], 2):
        for col in range(0, rgb.shape[1], 2):
            rs = gs = bs = 0
            for dr in range(2):
                for dc in range(2):
                    r = int(rgb[row + dr, col + dc, 0])
                    g = int(rgb[row + dr, col + dc, 1])
                    b = int(rgb[row + dr, col + dc, 2])
                    luma = (wy[0] * r + wy[1] * g + wy[2] * b + (16 << 16) + (1 << 15)) >> 16
                    y[row + dr, col + dc] = min(max(luma, 0), 255)
                    rs += r
                    gs += g
                    bs += b
            cb = (wu[0] * rs + wu[1] * gs + wu[2] * bs + (128 << 18) + (1 << 17)) >> 18
            cr = (wv[0] * rs + wv[1] * gs + wv[2] * bs + (128 << 18) + (1 << 17)) >> 18
            u[row // 2, col // 2] = min(max(cb, 0), 255)
            v[row // 2, col // 2] = min(max(cr, 0), 255)
