"""A sequence's camera calibration: ``cam_to_cam.yaml`` and the event ``rectify_map.h5``.

DSEC ships the calibration in separate archives (``train_calibration.zip``,
``test_calibration.zip``) that unpack to ``<seq>/calibration/cam_to_cam.yaml``; the
rectify map comes with the events. The YAML, as DSEC documents it and its own tools read
it: ``intrinsics/<cam>/camera_matrix`` = ``[fx, fy, cx, cy]`` and ``resolution`` =
``[w, h]`` for ``cam0..cam3`` (raw) and ``camRect0..camRect3`` (rectified);
``extrinsics/T_XY`` (4x4) takes a point of camY into camX, ``extrinsics/R_rectX`` (3x3)
rotates camX into camRectX. Left: event camera cam0, frame camera cam1 (``T_10``);
right: event camera cam3, frame camera cam2 (``T_32``).

Plugs in at the start of a sequence's work unit: ``load_rectify_map`` for
``--rectify-events``, ``load_calibration`` for ``--frames-view event``. Both raise
:class:`InputError` naming the file, the problem and the fix, so the build reports the
sequence and goes on with the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH
from egpt_dsec.layout.dsec import (
    CALIBRATION_NAME,
    EVENTS_FILE,
    LAYOUT_HELP,
    RECTIFY_MAP_FILE,
    SequenceFiles,
)
from egpt_dsec.source.errors import InputError

RECTIFY_DATASET = "rectify_map"
CALIBRATION_FIX = (
    "Download DSEC's calibration archive for the split (train_calibration.zip or "
    "test_calibration.zip) and unzip it into the split folder, so that this file is "
    f"<seq>/{CALIBRATION_NAME}"
)
RECTIFY_FIX = (
    f"Re-download the sequence's event archive: {RECTIFY_MAP_FILE} ships beside "
    f"{EVENTS_FILE} ({LAYOUT_HELP})"
)
ROTATION_TOLERANCE = 1e-4  # |R R^T - I| and |det R - 1|; DSEC's rotations meet ~1e-15


@dataclass(frozen=True)
class CameraPair:
    """The YAML keys of one side's event and frame camera."""

    event_rect: str
    frame_rect: str
    event_rotation: str
    frame_rotation: str
    extrinsic: str
    extrinsic_event_to_frame: bool  # T_10 takes cam0 (event) to cam1; T_32 takes cam2 to cam3


CAMERAS = {
    "left": CameraPair("camRect0", "camRect1", "R_rect0", "R_rect1", "T_10", True),
    "right": CameraPair("camRect3", "camRect2", "R_rect3", "R_rect2", "T_32", False),
}


def cam_to_cam_path(sequence_dir: Path) -> Path:
    return SequenceFiles(Path(sequence_dir)).calibration


def rectify_map_path(sequence_dir: Path, camera: str = "left") -> Path:
    """The rectify map of either DSEC layout; the split layout's path when neither exists."""
    return SequenceFiles(Path(sequence_dir), camera).rectify_map


@dataclass(frozen=True)
class Intrinsics:
    """A pinhole camera: focal lengths, principal point (pixel centres at integers), size."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @property
    def matrix(self) -> NDArray[np.float64]:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)


def resize_matrix(src: tuple[int, int], dst: tuple[int, int]) -> NDArray[np.float64]:
    """Pixel coordinates of an image of size ``src`` in the same image resized to ``dst``.

    Pixel centres are at integers and the image edges at -0.5, as in cv2.resize, so
    ``x' = (x + 0.5) * dst / src - 0.5``.
    """
    sx, sy = dst[0] / src[0], dst[1] / src[1]
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


@dataclass(frozen=True, eq=False)
class Calibration:
    """The rectified event and frame cameras of one side and the rotations between them.

    ``event_rotation`` (R_rect0) rotates the raw event camera into its rectified view,
    ``frame_rotation`` (R_rect1) the raw frame camera into its rectified view, and
    ``frame_from_event`` (R_10) is the rotation of T_10, taking event camera points to
    frame camera points.
    """

    camera: str
    event_rect: Intrinsics
    frame_rect: Intrinsics
    event_rotation: NDArray[np.float64]
    frame_rotation: NDArray[np.float64]
    frame_from_event: NDArray[np.float64]

    def frame_to_event_homography(
        self, frame_size: tuple[int, int] | None = None, out_size: tuple[int, int] | None = None
    ) -> NDArray[np.float64]:
        """3x3 H taking a frame pixel to its pixel in the rectified event view.

        ``H = K_r0 · R_rect0 · R_10ᵀ · R_rect1ᵀ · K_r1⁻¹``: a rectified frame pixel becomes a
        ray, is rotated back into the frame camera, into the event camera, into the
        rectified event camera, and projected. Rotation only: exact for distant points
        (the cameras are ~4.5 cm apart, so a point 10 m away is off by ~2.5 px). Frames
        of ``frame_size`` (default: the calibrated size) and an output of ``out_size``
        (default: the event camera's 640x480) are accounted for by resizing.
        """
        frame_size = frame_size or self.frame_rect.size
        out_size = out_size or self.event_rect.size
        rays = self.frame_rotation.T @ np.linalg.inv(self.frame_rect.matrix)
        rect_h = self.event_rect.matrix @ self.event_rotation @ self.frame_from_event.T @ rays
        to_frame = resize_matrix(self.frame_rect.size, frame_size)
        to_out = resize_matrix(self.event_rect.size, out_size)
        h = to_out @ rect_h @ np.linalg.inv(to_frame)
        return h / h[2, 2]


def _problem(path: Path, problem: str) -> InputError:
    return InputError(path, problem, CALIBRATION_FIX)


def _lookup(data: Any, keys: tuple[str, ...], path: Path) -> Any:
    node = data
    for i, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            where = "/".join(keys[:i]) or "the top level"
            raise _problem(path, f"no '{key}' under {where} (is this DSEC's cam_to_cam.yaml?)")
        node = node[key]
    return node


def _matrix(data: Any, keys: tuple[str, ...], shape: tuple[int, ...], path: Path) -> NDArray:
    name = "/".join(keys)
    try:
        arr = np.array(_lookup(data, keys, path), dtype=np.float64)
    except (TypeError, ValueError):
        raise _problem(path, f"{name} is not a list of numbers") from None
    if arr.shape != shape:
        raise _problem(path, f"{name} has shape {arr.shape}, expected {shape}")
    if not np.all(np.isfinite(arr)):
        raise _problem(path, f"{name} holds non-finite values")
    return arr


def _intrinsics(data: Any, cam: str, path: Path) -> Intrinsics:
    fx, fy, cx, cy = _matrix(data, ("intrinsics", cam, "camera_matrix"), (4,), path)
    width, height = _matrix(data, ("intrinsics", cam, "resolution"), (2,), path)
    if fx <= 0 or fy <= 0 or width < 1 or height < 1 or width % 1 or height % 1:
        raise _problem(path, f"intrinsics/{cam}: focal lengths and resolution must be positive")
    return Intrinsics(float(fx), float(fy), float(cx), float(cy), int(width), int(height))


def _rotation(arr: NDArray, name: str, path: Path) -> NDArray[np.float64]:
    orthogonal = np.abs(arr @ arr.T - np.eye(3)).max() <= ROTATION_TOLERANCE
    if not orthogonal or abs(np.linalg.det(arr) - 1.0) > ROTATION_TOLERANCE:
        raise _problem(path, f"{name} is not a rotation matrix")
    return arr


def parse_cam_to_cam(
    data: Any, camera: str = "left", path: Path = Path(CALIBRATION_NAME)
) -> Calibration:
    """The :class:`Calibration` of ``camera`` from a parsed ``cam_to_cam.yaml`` (pure)."""
    if camera not in CAMERAS:
        raise ValueError(f"camera must be one of {sorted(CAMERAS)}, got {camera!r}")
    keys = CAMERAS[camera]
    event_rect = _intrinsics(data, keys.event_rect, path)
    frame_rect = _intrinsics(data, keys.frame_rect, path)
    transform = _matrix(data, ("extrinsics", keys.extrinsic), (4, 4), path)
    if not np.allclose(transform[3], [0.0, 0.0, 0.0, 1.0]):
        raise _problem(path, f"extrinsics/{keys.extrinsic}: last row must be [0, 0, 0, 1]")
    rotation = _rotation(transform[:3, :3], f"extrinsics/{keys.extrinsic}", path)
    return Calibration(
        camera=camera,
        event_rect=event_rect,
        frame_rect=frame_rect,
        event_rotation=_rotation(
            _matrix(data, ("extrinsics", keys.event_rotation), (3, 3), path),
            f"extrinsics/{keys.event_rotation}",
            path,
        ),
        frame_rotation=_rotation(
            _matrix(data, ("extrinsics", keys.frame_rotation), (3, 3), path),
            f"extrinsics/{keys.frame_rotation}",
            path,
        ),
        frame_from_event=rotation if keys.extrinsic_event_to_frame else rotation.T,
    )


def load_calibration(sequence_dir: Path, camera: str = "left") -> Calibration:
    """Read and check the sequence's ``cam_to_cam.yaml`` for one side."""
    import yaml

    path = cam_to_cam_path(sequence_dir)
    if not path.is_file():
        raise _problem(path, "missing (DSEC ships calibration in a separate archive)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise _problem(path, f"unreadable YAML ({type(exc).__name__}: {exc})") from None
    return parse_cam_to_cam(data, camera, path)


def check_rectify_map(rectify_map: Any, path: Path) -> NDArray[np.float32]:
    """``rectify_map`` as (480, 640, 2) float32 with finite values, or an InputError."""
    arr = np.asarray(rectify_map)
    expected = (SENSOR_HEIGHT, SENSOR_WIDTH, 2)
    if arr.shape != expected or arr.dtype.kind != "f":
        raise InputError(
            path,
            f"{RECTIFY_DATASET} is {arr.dtype} {arr.shape}, expected float {expected}",
            RECTIFY_FIX,
        )
    if not np.all(np.isfinite(arr)):
        raise InputError(path, f"{RECTIFY_DATASET} holds non-finite values", RECTIFY_FIX)
    return arr.astype(np.float32, copy=False)


def load_rectify_map(sequence_dir: Path, camera: str = "left") -> NDArray[np.float32]:
    """Read and check the event camera's ``rectify_map`` (raw pixel -> rectified x, y)."""
    import h5py
    import hdf5plugin  # noqa: F401  (registers the filters, should a map be compressed)

    path = rectify_map_path(sequence_dir, camera)
    if not path.is_file():
        raise InputError(path, "missing", RECTIFY_FIX)
    try:
        with h5py.File(path, "r") as f:
            if RECTIFY_DATASET not in f:
                raise InputError(path, f"no '{RECTIFY_DATASET}' dataset", RECTIFY_FIX)
            data = f[RECTIFY_DATASET][()]
    except OSError as exc:
        raise InputError(path, f"unreadable HDF5 ({exc})", RECTIFY_FIX) from None
    return check_rectify_map(data, path)
