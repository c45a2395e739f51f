"""The frame side of a sequence: the image clock, the timestamps file and the RGB PNGs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
from numpy.typing import NDArray

from egpt_dsec.fs import atomic_write_bytes
from egpt_dsec.layout.dsec import SequenceFiles
from egpt_dsec.synth.raster import new_spans, paint_shapes, restore_spans, to_uint8
from egpt_dsec.synth.scene import Scene, Window, in_window
from egpt_dsec.synth.spec import FRAME_HZ

FRAME_PERIOD_US = 1_000_000 // FRAME_HZ
PNG_COMPRESS_LEVEL = 1  # frames dominate the run time; zlib level 1 is several times faster
PNG_PREDICTION = "paeth"  # keeps files about as small as Pillow's adaptive filters
T_OFFSET_BASE = 36_000_000_000  # real DSEC offsets are ~3.6e10 µs
JITTER_US = 3


@dataclass(frozen=True)
class SequenceClock:
    """Where a sequence sits in time: event clock offset, frame times, end of events.

    Image timestamps are absolute (the clock of ``t + t_offset``); the first comes a few
    hundred µs after ``t_offset`` and events run on a little past the last one, as in DSEC.
    """

    t_offset: int
    frames_us: NDArray[np.int64]  # absolute image timestamps
    events_end_us: int  # relative: events lie in [0, events_end_us)

    @staticmethod
    def random(rng: np.random.Generator, frame_count: int) -> SequenceClock:
        t_offset = T_OFFSET_BASE + int(rng.integers(0, 2_000_000_000))
        first = int(rng.integers(150, 600))
        jitter = rng.integers(-JITTER_US, JITTER_US + 1, frame_count)
        jitter[0] = 0
        rel = first + np.arange(frame_count, dtype=np.int64) * FRAME_PERIOD_US + jitter
        tail = int(rng.integers(8_000, 30_000))
        return SequenceClock(t_offset, rel + t_offset, int(rel[-1]) + tail)

    @property
    def frames_rel_us(self) -> NDArray[np.int64]:
        return self.frames_us - self.t_offset


def write_timestamps(path: Path, timestamps_us: Sequence[int] | NDArray[np.int64]) -> None:
    """One integer µs per line, no header (DSEC's image timestamps)."""
    text = "".join(f"{int(t)}\n" for t in timestamps_us)
    atomic_write_bytes(path, text.encode("ascii"))


def frame_window(
    to_event: NDArray[np.float64], size: tuple[int, int]
) -> tuple[Window, tuple[int, int], NDArray[np.float64]]:
    """A scene window covering a frame whose pixels map to the event view by ``to_event``.

    Returns the window, its canvas size and the homography from frame pixels to canvas
    pixels. The canvas has at least the frame's pixel density, so the warp only resamples.
    """
    w, h = size
    corners = np.array(
        [[-0.5, w - 0.5, -0.5, w - 0.5], [-0.5, -0.5, h - 0.5, h - 0.5], [1, 1, 1, 1]]
    )
    mapped = to_event @ corners
    scene = mapped[:2] / mapped[2] + 0.5  # event pixel centres sit at scene x + 0.5
    lo = np.floor(scene.min(axis=1)) - 1.0
    hi = np.ceil(scene.max(axis=1)) + 1.0
    scale = float(max(w / (hi[0] - lo[0]), h / (hi[1] - lo[1])))
    canvas = (int(np.ceil((hi[0] - lo[0]) * scale)), int(np.ceil((hi[1] - lo[1]) * scale)))
    to_canvas = np.array(
        [
            [scale, 0.0, scale * (0.5 - lo[0]) - 0.5],
            [0.0, scale, scale * (0.5 - lo[1]) - 0.5],
            [0, 0, 1],
        ]
    )
    return Window(float(lo[0]), float(lo[1]), scale, scale), canvas, to_canvas @ to_event


def canvas_maps(
    to_canvas: NDArray[np.float64], size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap's fixed-point maps of a homography (frame pixel -> canvas pixel): computed
    once per sequence, they make each frame's warp cheaper than warpPerspective."""
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]].astype(np.float64)
    p = to_canvas @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    map_x = (p[0] / p[2]).reshape(size[1], size[0]).astype(np.float32)
    map_y = (p[1] / p[2]).reshape(size[1], size[0]).astype(np.float32)
    fixed, fraction = cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)
    return fixed, fraction


class FrameRenderer:
    """Draws the scene at one output size, reusing the background between frames.

    Without ``to_event`` the frame spans the sensor (the scene scaled to the frame). With
    it (frame pixel -> rectified event pixel, a homography) the frame is the view of the
    frame camera: the scene is drawn on a canvas covering that view, then warped into it.
    """

    def __init__(
        self, scene: Scene, width: int, height: int, to_event: NDArray[np.float64] | None = None
    ) -> None:
        self.scene = scene
        self.maps: tuple[np.ndarray, np.ndarray] | None = None
        if to_event is None:
            self.window, canvas = Window.sensor(width, height), (width, height)
        else:
            self.window, canvas, warp = frame_window(to_event, (width, height))
            self.maps = canvas_maps(warp, (width, height))
        self.background = scene.background(*canvas, 3, self.window)
        self.work = self.background.copy()
        self.spans = new_spans(len(scene.shapes), canvas[1])
        self.out = np.empty((canvas[1], canvas[0], 3), dtype=np.uint8)

    def render(self, t_s: float) -> NDArray[np.uint8]:
        """The frame at ``t_s`` seconds (event clock) as (H, W, 3) uint8; a reused buffer."""
        restore_spans(self.work, self.background, self.spans)
        geom = in_window(self.scene.shapes.geometry(t_s), self.window)
        colors = self.scene.shape_colors(t_s, 3)
        paint_shapes(self.work, geom, colors, self.window.sx, self.window.sy, self.spans)
        to_uint8(self.work, self.out)
        if self.maps is None:
            return self.out
        return np.asarray(
            cv2.remap(self.out, *self.maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        )


class PngEncoder:
    """RGB uint8 arrays to PNG bytes with FFmpeg's encoder (PyAV): about 2.5x faster than
    Pillow on these frames, same pixels, and no time stamps in the file."""

    def __init__(self, width: int, height: int) -> None:
        self.context = av.CodecContext.create("png", "w")
        self.context.width = width
        self.context.height = height
        self.context.pix_fmt = "rgb24"
        self.context.options = {
            "compression_level": str(PNG_COMPRESS_LEVEL),
            "pred": PNG_PREDICTION,
        }

    def encode(self, rgb: NDArray[np.uint8]) -> bytes:
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        return b"".join(bytes(packet) for packet in self.context.encode(frame))


def write_frames(
    files: SequenceFiles,
    scene: Scene,
    frames_rel_us: NDArray[np.int64],
    size: tuple[int, int],
    to_event: NDArray[np.float64] | None = None,
) -> list[Path]:
    """One PNG per timestamp, under DSEC's frame names, each written atomically.

    ``to_event`` (frame pixel -> rectified event pixel) renders the frame camera's view.
    """
    renderer = FrameRenderer(scene, *size, to_event)
    encoder = PngEncoder(*size)
    paths = []
    for index, t_us in enumerate(frames_rel_us.tolist()):
        path = files.frame(index)
        atomic_write_bytes(path, encoder.encode(renderer.render(t_us / 1e6)))
        paths.append(path)
    return paths
