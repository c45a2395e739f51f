"""A synthetic left camera pair, known exactly, so alignment can be tested against truth.

The scene's coordinates are the rectified event view camRect0 (640x480). The raw event
camera cam0 sees it through a rotation (R_rect0), other intrinsics and a mild radial-
tangential lens distortion (OpenCV's model, as DSEC's cam0); the frame camera sees it
in camRect1, rotated by a fraction of a degree (R_10, R_rect1) with its own intrinsics,
so a frame resized to 640x480 is several pixels off the events. Magnitudes follow
DSEC's left cameras, the rotations a little larger so the offset is clear.

Everything is drawn from one generator; the frame size only scales camRect1, so the
events and the rectify map do not depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH
from egpt_dsec.render.rectify import RectifyTable
from egpt_dsec.source.calibration import Calibration, Intrinsics, parse_cam_to_cam

UNDISTORT_ITERATIONS = 10  # fixed-point steps; 8 already leave < 1e-9 px for these distortions
BASELINE_M = (-0.044, 0.001, -0.013)  # T_10 translation, DSEC's left pair is ~4.5 cm apart
_DEG = np.pi / 180.0


def rotation(rx: float, ry: float, rz: float) -> NDArray[np.float64]:
    """Rotation by angles (radians) about x (pitch), y (yaw) and z (roll): Rz @ Ry @ Rx."""
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    r_x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    r_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    r_z = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return r_z @ r_y @ r_x


def _signed(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi) * rng.choice([-1.0, 1.0]))


@dataclass(frozen=True, eq=False)
class SynthCalibration:
    """cam0 (raw events, distorted), camRect0 (the scene), camRect1 (the frames)."""

    cam0: Intrinsics
    distortion: tuple[float, float, float, float]  # k1, k2, p1, p2 (radtan)
    event_rect: Intrinsics
    event_rotation: NDArray[np.float64]  # R_rect0: cam0 -> camRect0
    frame_rect: Intrinsics
    frame_rotation: NDArray[np.float64]  # R_rect1: cam1 -> camRect1
    frame_from_event: NDArray[np.float64]  # R_10: cam0 -> cam1

    @staticmethod
    def random(rng: np.random.Generator, frame_size: tuple[int, int]) -> SynthCalibration:
        f = rng.uniform(552.0, 560.0)
        cam0 = Intrinsics(
            f, f * rng.uniform(0.999, 1.001), 319.5 + rng.uniform(-8, 8),
            239.5 + rng.uniform(-8, 8), SENSOR_WIDTH, SENSOR_HEIGHT,
        )  # fmt: skip
        k = (rng.uniform(-0.03, -0.015), rng.uniform(0.0, 0.01), *rng.uniform(-5e-4, 5e-4, 2))
        fr = f * rng.uniform(1.0, 1.01)  # rectification zooms in slightly, as in DSEC
        event_rect = Intrinsics(
            fr, fr, 319.5 + rng.uniform(-4, 4), 239.5 + rng.uniform(-4, 4),
            SENSOR_WIDTH, SENSOR_HEIGHT,
        )  # fmt: skip
        r_rect0 = rotation(*rng.uniform(-0.3, 0.3, 3) * _DEG)
        r_10 = rotation(
            _signed(rng, 0.5, 0.9) * _DEG,
            _signed(rng, 0.5, 0.9) * _DEG,
            rng.uniform(-0.3, 0.3) * _DEG,
        )
        r_rect1 = rotation(*rng.uniform(-0.3, 0.3, 3) * _DEG)
        zoom = rng.uniform(0.99, 1.0)  # the frame camera sees a little more
        shift = rng.uniform(-3, 3, 2)
        sx, sy = frame_size[0] / SENSOR_WIDTH, frame_size[1] / SENSOR_HEIGHT
        frame_rect = Intrinsics(
            fr * zoom * sx, fr * zoom * sy, (event_rect.cx + 0.5 + shift[0]) * sx - 0.5,
            (event_rect.cy + 0.5 + shift[1]) * sy - 0.5, frame_size[0], frame_size[1],
        )  # fmt: skip
        return SynthCalibration(cam0, k, event_rect, r_rect0, frame_rect, r_rect1, r_10)

    def distort(self, x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
        """Normalised undistorted -> normalised distorted coordinates (OpenCV radtan)."""
        k1, k2, p1, p2 = self.distortion
        r2 = x * x + y * y
        radial = 1.0 + k1 * r2 + k2 * r2 * r2
        xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        return xd, yd

    def undistort(self, xd: NDArray, yd: NDArray) -> tuple[NDArray, NDArray]:
        """The inverse of :meth:`distort`, by OpenCV's fixed-point iteration."""
        k1, k2, p1, p2 = self.distortion
        x, y = xd.copy(), yd.copy()
        for _ in range(UNDISTORT_ITERATIONS):
            r2 = x * x + y * y
            inv_radial = 1.0 / (1.0 + k1 * r2 + k2 * r2 * r2)
            dx = 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
            dy = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
            x, y = (xd - dx) * inv_radial, (yd - dy) * inv_radial
        return x, y

    def rect_to_raw(self, u: NDArray, v: NDArray) -> tuple[NDArray, NDArray]:
        """camRect0 pixels -> raw cam0 pixels (what cv2.initUndistortRectifyMap tabulates)."""
        k_inv = np.linalg.inv(self.event_rect.matrix)
        rays = self.event_rotation.T @ k_inv @ np.stack([u, v, np.ones_like(u)]).reshape(3, -1)
        xd, yd = self.distort(rays[0] / rays[2], rays[1] / rays[2])
        c = self.cam0
        return (c.fx * xd + c.cx).reshape(np.shape(u)), (c.fy * yd + c.cy).reshape(np.shape(u))

    def raw_to_rect(self, x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
        """Raw cam0 pixels -> camRect0 pixels (what DSEC's rectify_map holds)."""
        c = self.cam0
        xn, yn = self.undistort((x - c.cx) / c.fx, (y - c.cy) / c.fy)
        rays = self.event_rect.matrix @ self.event_rotation
        p = rays @ np.stack([xn, yn, np.ones_like(xn)]).reshape(3, -1)
        return (p[0] / p[2]).reshape(np.shape(x)), (p[1] / p[2]).reshape(np.shape(x))

    def rectify_map(self) -> NDArray[np.float32]:
        """(480, 640, 2) float32: ``map[y, x]`` = rectified (x, y) of raw pixel (x, y)."""
        ys, xs = np.mgrid[0:SENSOR_HEIGHT, 0:SENSOR_WIDTH].astype(np.float64)
        xr, yr = self.raw_to_rect(xs, ys)
        return np.stack([xr, yr], axis=-1).astype(np.float32)

    def cam_to_cam(self) -> dict[str, Any]:
        """The ``cam_to_cam.yaml`` content (left side only), DSEC's keys and layout."""

        def cam(i: Intrinsics, **extra: Any) -> dict[str, Any]:
            return {
                "camera_matrix": [float(v) for v in (i.fx, i.fy, i.cx, i.cy)],
                "resolution": [int(i.width), int(i.height)],
                **extra,
            }

        t_10 = np.eye(4)
        t_10[:3, :3], t_10[:3, 3] = self.frame_from_event, BASELINE_M
        coeffs = [float(k) for k in self.distortion]
        distortion = {"distortion_model": "radtan", "distortion_coeffs": coeffs}
        return {
            "intrinsics": {
                "cam0": cam(self.cam0, **distortion),
                "camRect0": cam(self.event_rect),
                "camRect1": cam(self.frame_rect),
            },
            "extrinsics": {
                "R_rect0": self.event_rotation.tolist(),
                "R_rect1": self.frame_rotation.tolist(),
                "T_10": t_10.tolist(),
            },
        }

    def calibration(self) -> Calibration:
        """What :func:`load_calibration` reads back from the written YAML."""
        return parse_cam_to_cam(self.cam_to_cam(), "left")


def raw_pixel_lookup(rectify_map: NDArray[np.float32]) -> NDArray[np.int64]:
    """For each rectified pixel, a raw pixel whose rectify_map value rounds back to it.

    Of the raw pixels that round to the same rectified pixel, the one whose map value
    lies closest to its centre (then the lowest index) wins; rectified pixels that no
    raw pixel rounds to (the map stretches a little) get -1: an event there is dropped,
    as it would be by any forward rectification.
    """
    table = RectifyTable.from_map(rectify_map).rectified_index()
    raw = np.flatnonzero(table >= 0)
    target = table[raw]
    height, width = rectify_map.shape[:2]
    centre = np.stack([target % width, target // width], axis=1)
    dist = ((rectify_map.reshape(-1, 2)[raw] - centre) ** 2).sum(axis=1)
    order = np.lexsort((raw, dist, target))
    first = np.ones(len(order), dtype=bool)
    first[1:] = target[order][1:] != target[order][:-1]
    lookup = np.full(height * width, -1, dtype=np.int64)
    lookup[target[order][first]] = raw[order][first]
    return lookup
