"""Ground-truth labels of a synthetic sequence, as DSEC-Detection ships them.

Every moving shape is an object of one class (drawn from the sequence's own seed
stream). At every frame time its outline, in the scene's rectified event view, is moved
into the raw (distorted) event view by the exact camera model, and the bounding box of
the result, clipped to the 640x480 image, is its label when at least ``MIN_SIZE`` pixels
of it are in view in each direction. An object gets a new track id each time it comes
back into view (shapes leave and re-enter the view as they wrap around). Written as
``object_detections/left/tracks.npy`` with DSEC-Detection's dtype.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH
from egpt_dsec.fs import atomic_path
from egpt_dsec.labels.classes import CLASS_NAMES
from egpt_dsec.labels.tracks import TRACKS_DTYPE
from egpt_dsec.synth.calibration import SynthCalibration
from egpt_dsec.synth.raster import (
    GEOM_COS,
    GEOM_CX,
    GEOM_CY,
    GEOM_HX,
    GEOM_HY,
    GEOM_KIND,
    GEOM_SIN,
    KIND_DISK,
)
from egpt_dsec.synth.scene import Shapes

# How often each class is drawn (DSEC's roads: cars most, then pedestrians and trucks).
CLASS_WEIGHTS = (0.2, 0.05, 0.35, 0.08, 0.12, 0.1, 0.05, 0.05)
OUTLINE_POINTS = 64  # points along each shape's outline
MIN_SIZE = 2.0  # pixels of a box in view, in x and in y


def shape_classes(rng: np.random.Generator, shapes: int) -> NDArray[np.int64]:
    assert len(CLASS_WEIGHTS) == len(CLASS_NAMES)
    return rng.choice(len(CLASS_NAMES), size=shapes, p=CLASS_WEIGHTS).astype(np.int64)


def outlines(geom: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Scene x and y of ``OUTLINE_POINTS`` points along each shape's edge: (..., n, P)."""
    k = np.arange(OUTLINE_POINTS) / OUTLINE_POINTS
    angle = 2 * np.pi * k
    # A box's edge walked at constant speed in its own frame: u, v in [-1, 1].
    side = np.floor(4 * k).astype(np.int64)
    s = 8 * k - 2 * side - 1  # -1 .. 1 along each side
    u = np.choose(side, [s, np.ones_like(s), -s, -np.ones_like(s)])
    v = np.choose(side, [-np.ones_like(s), s, np.ones_like(s), -s])
    g = geom[..., None]  # (..., n, 1)
    disk = g[..., GEOM_KIND, :] == KIND_DISK
    hx, hy = g[..., GEOM_HX, :], g[..., GEOM_HY, :]
    bu = np.where(disk, hx * np.cos(angle), hx * u)
    bv = np.where(disk, hx * np.sin(angle), hy * v)
    co, si = np.where(disk, 1.0, g[..., GEOM_COS, :]), np.where(disk, 0.0, g[..., GEOM_SIN, :])
    x = g[..., GEOM_CX, :] + co * bu - si * bv
    y = g[..., GEOM_CY, :] + si * bu + co * bv
    return x, y


def raw_boxes(
    shapes: Shapes, times_s: NDArray[np.float64], calibration: SynthCalibration
) -> NDArray[np.float64]:
    """(frames, shapes, 4) clipped raw boxes x0, y0, x1, y1 (NaN when not in view)."""
    x, y = outlines(shapes.geometry(times_s))
    # Scene units have pixel edges at integers; the camera model takes pixel centres.
    rx, ry = calibration.rect_to_raw(x - 0.5, y - 0.5)
    rx, ry = rx + 0.5, ry + 0.5
    x0 = np.maximum(rx.min(axis=-1), 0.0)
    x1 = np.minimum(rx.max(axis=-1), float(SENSOR_WIDTH))
    y0 = np.maximum(ry.min(axis=-1), 0.0)
    y1 = np.minimum(ry.max(axis=-1), float(SENSOR_HEIGHT))
    boxes = np.stack([x0, y0, x1, y1], axis=-1)
    seen = (x1 - x0 >= MIN_SIZE) & (y1 - y0 >= MIN_SIZE)
    boxes[~seen] = np.nan
    return boxes


def synth_tracks(
    shapes: Shapes,
    classes: NDArray[np.int64],
    frames_us: NDArray[np.int64],
    t_offset: int,
    calibration: SynthCalibration,
) -> NDArray:
    """The sequence's labels: one row per object in view per frame time."""
    boxes = raw_boxes(shapes, (frames_us - t_offset) / 1e6, calibration)
    seen = ~np.isnan(boxes[..., 0])
    # A track is a run of frames in view; ids in order of (first frame, shape).
    starts = seen & ~np.vstack([np.zeros((1, seen.shape[1]), bool), seen[:-1]])
    first_frames, first_shapes = np.nonzero(starts)
    run_id = np.full(seen.shape, -1, dtype=np.int64)
    for track, (f, s) in enumerate(zip(first_frames.tolist(), first_shapes.tolist(), strict=True)):
        stop = f
        while stop < seen.shape[0] and seen[stop, s]:
            stop += 1
        run_id[f:stop, s] = track
    frames, objects = np.nonzero(seen)  # frame-major: rows sorted by time
    rows = np.zeros(len(frames), dtype=TRACKS_DTYPE)
    rows["t"] = frames_us[frames]
    box = boxes[frames, objects]
    rows["x"], rows["y"] = box[:, 0], box[:, 1]
    rows["w"], rows["h"] = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
    rows["class_id"] = classes[objects]
    rows["class_confidence"] = 1.0
    rows["track_id"] = run_id[frames, objects]
    return rows[np.lexsort((rows["track_id"], rows["t"]))]


def write_tracks(path: Path, rows: NDArray) -> None:
    """``tracks.npy``: a plain structured array (no pickle), written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        np.save(f, rows, allow_pickle=False)
