"""The scene's luminance at the event sensor, step by step, and what changed in each step."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH
from egpt_dsec.synth.raster import collect_changes, new_spans, paint_shapes, restore_spans
from egpt_dsec.synth.scene import Scene

CONTRAST_EPS = 0.03  # softens relative changes on near-black pixels (like log(I + eps))


class LuminanceSteps:
    """Luminance images at successive times, and the pixels that changed in between.

    Two buffers swap roles; each step restores only the spans painted two steps ago and
    repaints the shapes, so a step costs about the shapes' area, not the sensor's.
    After ``advance`` returns ``m``, ``idx[:m]`` (flat pixel index ``y * 640 + x``),
    ``delta[:m]`` (signed relative change) and ``cum[:m]`` (running sum of ``|delta|``)
    describe the changed pixels, until the next call.
    """

    def __init__(self, scene: Scene, t_s: float) -> None:
        self.background = scene.background(SENSOR_WIDTH, SENSOR_HEIGHT, 1)
        n = len(scene.shapes)
        self.prev = self.background.copy()
        self.cur = self.background.copy()
        self.prev_spans = new_spans(n, SENSOR_HEIGHT)
        self.cur_spans = new_spans(n, SENSOR_HEIGHT)
        self.idx = np.empty(SENSOR_HEIGHT * SENSOR_WIDTH, dtype=np.int64)
        self.delta = np.empty(SENSOR_HEIGHT * SENSOR_WIDTH, dtype=np.float32)
        self.cum = np.empty(SENSOR_HEIGHT * SENSOR_WIDTH, dtype=np.float64)
        geom, colors = scene.shapes.geometry(t_s), scene.shape_colors(t_s, 1)
        paint_shapes(self.prev, geom, colors, 1.0, 1.0, self.prev_spans)

    def advance(self, geom: NDArray[np.float64], colors: NDArray[np.float32]) -> int:
        """Move to the next state (shape ``geom``, luminance ``colors``); return how many
        pixels changed since the previous state."""
        restore_spans(self.cur, self.background, self.cur_spans)
        paint_shapes(self.cur, geom, colors, 1.0, 1.0, self.cur_spans)
        m = collect_changes(
            self.prev,
            self.cur,
            self.prev_spans,
            self.cur_spans,
            CONTRAST_EPS,
            self.idx,
            self.delta,
            self.cum,
        )
        self.prev, self.cur = self.cur, self.prev
        self.prev_spans, self.cur_spans = self.cur_spans, self.prev_spans
        return int(m)
