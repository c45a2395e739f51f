"""Decoded RGB frames as yuv420p video frames, converted once for every encoder.

The colour conversion is done here in integer arithmetic rather than by swscale, whose
SIMD paths may round differently per CPU: the same frames give the same bytes everywhere.
"""

from __future__ import annotations

import av
import numpy as np
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
    y, u, v = rgb_to_yuv420(rgb)
    frame = av.VideoFrame(width, height, PIX_FMT)
    for plane, values in zip(frame.planes, (y, u, v), strict=True):
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
        rows[: values.shape[0], : values.shape[1]] = values
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
