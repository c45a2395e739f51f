"""The moving scene: a textured background and a few shapes, defined for any time and size.

Events and frames are both drawn from this one description, so an event image and the
frame of the same instant show the same shapes in the same places. Coordinates are in
event sensor pixels (640x480); other output sizes scale them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH
from egpt_dsec.synth.raster import (
    GEOM_COLUMNS,
    GEOM_COS,
    GEOM_CX,
    GEOM_CY,
    GEOM_HX,
    GEOM_HY,
    GEOM_KIND,
    GEOM_SIN,
    KIND_BOX,
    KIND_DISK,
    new_spans,
    paint_shapes,
)

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
WRAP_MARGIN = 48.0  # shapes wrap this far outside the sensor: out of the frames' view too
_TWO_PI = 2.0 * np.pi


@dataclass(frozen=True)
class Window:
    """Where an image sits in the scene: scene point of its top-left corner, pixels per unit.

    Pixel (i, j) covers scene ``[ox + i / sx, ox + (i + 1) / sx)`` (and likewise in y): the
    scene's units are event pixels with edges at integers, so the rectified event pixel
    (x, y) is the unit square at scene (x, y) and its centre is at (x + 0.5, y + 0.5).
    """

    ox: float
    oy: float
    sx: float
    sy: float

    @staticmethod
    def sensor(width: int, height: int) -> Window:
        """The whole 640x480 sensor at ``width`` x ``height``."""
        return Window(0.0, 0.0, width / SENSOR_WIDTH, height / SENSOR_HEIGHT)

    def centres(self, width: int, height: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Scene coordinates of the pixel centres along x and along y."""
        xs = self.ox + (np.arange(width) + 0.5) / self.sx
        ys = self.oy + (np.arange(height) + 0.5) / self.sy
        return np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)


def _lattice(
    cells: NDArray[np.float64], xs: NDArray[np.float64], ys: NDArray[np.float64], cell: float
) -> NDArray[np.float64]:
    """Cell values at the grid ``ys`` x ``xs``; the lattice repeats outside its extent."""
    rows = np.mod(np.floor(ys / cell).astype(np.int64), cells.shape[0])
    cols = np.mod(np.floor(xs / cell).astype(np.int64), cells.shape[1])
    return cells[rows][:, cols]


@dataclass(frozen=True)
class Texture:
    """A static background: a vertical gradient, two scales of tiles and a few slabs.

    Piecewise constant along rows on purpose: it still gives frames and a static
    scene some structure, and PNG (zlib) encodes it several times faster than noise.
    """

    gradient: NDArray[np.float64]  # (3,) a * y + b * y² + c, y in [0, 1]
    tiles: NDArray[np.float64]  # (ty, tx) lattice, one cell = TILE units
    blocks: NDArray[np.float64]  # (by, bx) lattice, one cell = BLOCK units
    slabs: NDArray[np.float64]  # (n, 5) x0, y0, x1, y1, level
    tint: NDArray[np.float64]  # (3,)

    TILE = 80.0
    BLOCK = 16.0

    @staticmethod
    def random(rng: np.random.Generator) -> Texture:
        tx, ty = int(SENSOR_WIDTH / Texture.TILE) + 1, int(SENSOR_HEIGHT / Texture.TILE) + 1
        bx, by = int(SENSOR_WIDTH / Texture.BLOCK) + 1, int(SENSOR_HEIGHT / Texture.BLOCK) + 1
        n = int(rng.integers(6, 12))
        corner = rng.uniform(0, 1, (n, 2)) * [SENSOR_WIDTH, SENSOR_HEIGHT]
        extent = rng.uniform(30, 160, (n, 2))
        slabs = np.concatenate([corner, corner + extent, rng.uniform(0.3, 0.65, (n, 1))], axis=1)
        return Texture(
            gradient=np.array([rng.uniform(-0.25, 0.25), rng.uniform(-0.15, 0.15), 0.5]),
            tiles=rng.uniform(-1.0, 1.0, (ty, tx)),
            blocks=rng.uniform(-1.0, 1.0, (by, bx)),
            slabs=slabs,
            tint=rng.uniform(0.85, 1.15, 3),
        )

    def render(self, width: int, height: int, window: Window | None = None) -> NDArray[np.float32]:
        """The background as (height, width, 3) float32 in [0, 1].

        By default the image spans the sensor; a ``window`` places it anywhere (the
        lattices repeat, so frames that see past the event sensor find texture there).
        """
        window = window or Window.sensor(width, height)
        xs, ys = window.centres(width, height)
        yn = ys / SENSOR_HEIGHT
        a, b, c = self.gradient
        lum = np.empty((height, width))
        lum[:] = (a * yn + b * yn * yn + c)[:, None]
        lum += 0.1 * _lattice(self.tiles, xs, ys, self.TILE)
        lum += 0.04 * _lattice(self.blocks, xs, ys, self.BLOCK)
        for x0, y0, x1, y1, level in self.slabs:
            rows = (ys >= y0) & (ys < y1)
            cols = (xs >= x0) & (xs < x1)
            lum[np.ix_(rows, cols)] = level + 0.04 * (lum[np.ix_(rows, cols)] - 0.5)
        rgb = np.clip(lum[:, :, None] * self.tint[None, None, :], 0.0, 1.0)
        return np.ascontiguousarray(rgb, dtype=np.float32)


@dataclass(frozen=True)
class Shapes:
    """Moving shapes as parallel arrays, one entry per shape, painted in array order.

    Position = centre + amp * sin(2 pi freq t + phase) + velocity * t, wrapped around the
    image (with a margin) so shapes that cross the view come back; boxes spin at ``spin``
    rad/s; colour is scaled by 1 + flicker_amp * sin(2 pi flicker_freq t + flicker_phase).
    """

    kind: NDArray[np.int64]  # (n,) KIND_DISK or KIND_BOX
    half: NDArray[np.float64]  # (n, 2) radius (disk) or half extents (box)
    centre: NDArray[np.float64]  # (n, 2)
    amp: NDArray[np.float64]  # (n, 2)
    freq: NDArray[np.float64]  # (n, 2) Hz
    phase: NDArray[np.float64]  # (n, 2)
    velocity: NDArray[np.float64]  # (n, 2) units per second
    angle: NDArray[np.float64]  # (n,) radians at t = 0
    spin: NDArray[np.float64]  # (n,) radians per second
    color: NDArray[np.float64]  # (n, 3) in [0, 1]
    flicker_amp: NDArray[np.float64]  # (n,)
    flicker_freq: NDArray[np.float64]  # (n,) Hz
    flicker_phase: NDArray[np.float64]  # (n,)

    def __len__(self) -> int:
        return len(self.kind)

    @staticmethod
    def random(rng: np.random.Generator) -> Shapes:
        """A mix of orbiting disks and boxes, crossing shapes and spinning bars."""
        n = int(rng.integers(5, 8))
        role = np.concatenate([np.arange(4), rng.integers(0, 4, n - 4)])  # every role once
        rng.shuffle(role)
        # roles: 0 orbiting disk, 1 orbiting box, 2 crossing disk or box, 3 spinning bar
        kind = np.where((role == 0) | ((role == 2) & (rng.random(n) < 0.5)), KIND_DISK, KIND_BOX)
        half = np.empty((n, 2))
        half[:, 0] = rng.uniform(16.0, 50.0, n)
        half[:, 1] = np.where(kind == KIND_DISK, half[:, 0], rng.uniform(12.0, 40.0, n))
        bar = role == 3
        half[bar, 0] = rng.uniform(55.0, 110.0, bar.sum())
        half[bar, 1] = rng.uniform(3.0, 7.0, bar.sum())

        size = np.array([SENSOR_WIDTH, SENSOR_HEIGHT], dtype=np.float64)
        centre = rng.uniform(0.25, 0.75, (n, 2)) * size
        amp = rng.uniform(0.08, 0.25, (n, 2)) * size  # peak speed 2 pi amp freq <= 250 px/s
        freq = rng.uniform(0.06, 0.25, (n, 2))
        velocity = np.zeros((n, 2))
        crossing = role == 2
        speed = rng.uniform(60.0, 220.0, crossing.sum())
        heading = rng.uniform(-0.5, 0.5, crossing.sum()) + np.pi * rng.integers(
            0, 2, crossing.sum()
        )
        velocity[crossing] = np.stack([np.cos(heading), np.sin(heading)], axis=1) * speed[:, None]
        amp[crossing] *= 0.2
        amp[bar] *= 0.4

        spin = np.where(
            bar,
            rng.uniform(0.4, 1.4, n) * rng.choice([-1.0, 1.0], n),
            np.where(kind == KIND_BOX, rng.uniform(-0.4, 0.4, n), 0.0),
        )

        # Shapes stand out from the mid-grey background: dark or bright, random hue.
        target = np.where(
            rng.random(n) < 0.5, rng.uniform(0.06, 0.2, n), rng.uniform(0.75, 0.95, n)
        )
        hue = rng.uniform(0.15, 1.0, (n, 3))
        color = np.clip(hue * (target / (hue @ LUMA.astype(np.float64)))[:, None], 0.0, 1.0)

        return Shapes(
            kind=kind.astype(np.int64),
            half=half,
            centre=centre,
            amp=amp,
            freq=freq,
            phase=rng.uniform(0, _TWO_PI, (n, 2)),
            velocity=velocity,
            angle=rng.uniform(0, np.pi, n),
            spin=spin,
            color=color,
            flicker_amp=rng.uniform(0.05, 0.3, n),
            flicker_freq=rng.uniform(0.1, 0.6, n),
            flicker_phase=rng.uniform(0, _TWO_PI, n),
        )

    def geometry(self, t: float | NDArray[np.float64]) -> NDArray[np.float64]:
        """Rows of shape geometry at ``t`` seconds, in the column order of ``raster``.

        A scalar ``t`` gives (n, 7); an array of T times gives (T, n, 7) in one call.
        """
        tt = np.asarray(t, dtype=np.float64)[..., None]  # (..., 1) against (n,)
        size = np.array([SENSOR_WIDTH, SENSOR_HEIGHT], dtype=np.float64)
        reach = np.hypot(self.half[:, 0], self.half[:, 1])[:, None] + 2.0 + WRAP_MARGIN
        tx = tt[..., None]  # (..., 1, 1) against (n, 2)
        pos = self.centre + self.amp * np.sin(_TWO_PI * self.freq * tx + self.phase)
        pos = np.mod(pos + self.velocity * tx + reach, size + 2.0 * reach) - reach
        theta = self.angle + self.spin * tt
        geom = np.empty((*tt.shape[:-1], len(self), GEOM_COLUMNS))
        geom[..., GEOM_KIND] = self.kind
        geom[..., GEOM_CX] = pos[..., 0]
        geom[..., GEOM_CY] = pos[..., 1]
        geom[..., GEOM_HX] = self.half[:, 0]
        geom[..., GEOM_HY] = self.half[:, 1]
        geom[..., GEOM_COS] = np.cos(theta)
        geom[..., GEOM_SIN] = np.sin(theta)
        return geom

    def colors(self, t: float | NDArray[np.float64]) -> NDArray[np.float32]:
        """RGB at ``t`` seconds, flicker applied: (n, 3), or (T, n, 3) for T times."""
        tt = np.asarray(t, dtype=np.float64)[..., None]
        gain = 1.0 + self.flicker_amp * np.sin(
            _TWO_PI * self.flicker_freq * tt + self.flicker_phase
        )
        return np.clip(self.color * gain[..., None], 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class Scene:
    """Background plus shapes; ``random`` makes one deterministically from a generator."""

    texture: Texture
    shapes: Shapes

    @staticmethod
    def random(rng: np.random.Generator) -> Scene:
        return Scene(texture=Texture.random(rng), shapes=Shapes.random(rng))

    def background(
        self, width: int, height: int, channels: int, window: Window | None = None
    ) -> NDArray[np.float32]:
        """(height, width, channels) background; 1 channel = luminance, 3 = RGB."""
        rgb = self.texture.render(width, height, window)
        if channels == 3:
            return rgb
        return np.ascontiguousarray((rgb @ LUMA)[:, :, None])

    def shape_colors(self, t: float | NDArray[np.float64], channels: int) -> NDArray[np.float32]:
        """Shape colours at ``t``: (..., n, 3) RGB, or (..., n, 1) luminance."""
        rgb = self.shapes.colors(t)
        if channels == 3:
            return rgb
        return np.ascontiguousarray((rgb @ LUMA)[..., None])

    def render(
        self, t: float, width: int, height: int, channels: int = 3, window: Window | None = None
    ) -> NDArray[np.float32]:
        """The whole scene at ``t`` seconds; slow and obvious, for frames and tests."""
        window = window or Window.sensor(width, height)
        img = self.background(width, height, channels, window)
        paint_shapes(
            img,
            in_window(self.shapes.geometry(t), window),
            self.shape_colors(t, channels),
            window.sx,
            window.sy,
            new_spans(len(self.shapes), height),
        )
        return img


def in_window(geom: NDArray[np.float64], window: Window) -> NDArray[np.float64]:
    """Shape geometry relative to a window's corner (what ``paint_shapes`` expects)."""
    if window.ox == 0.0 and window.oy == 0.0:
        return geom
    out = geom.copy()
    out[..., GEOM_CX] -= window.ox
    out[..., GEOM_CY] -= window.oy
    return out
