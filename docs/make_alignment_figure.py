"""Make docs/alignment_before_after.png: events over a frame, without and with alignment.

    .venv/bin/python docs/make_alignment_figure.py

A synthetic sequence with DSEC's geometry (raw distorted events, 1440x1080 frames of
the other camera) and a known calibration. Left: raw events over the frame resized to
640x480, as the data comes. Right: rectified events over the frame warped into the
event view. Below each, a 3x zoom of one region. Prints the measured offsets.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import h5py
import numpy as np
from PIL import Image, ImageDraw

from egpt_dsec.render.alignment import measure_offset
from egpt_dsec.render.rectify import RectifyTable, rectify_events
from egpt_dsec.render.warp import resize_frame, warp_frame_to_event_view
from egpt_dsec.reports.preview.overlay import draw_events
from egpt_dsec.source.calibration import load_calibration, load_rectify_map
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec

SPEC = SynthSpec(sequences=1, seconds=1.0, rate=3e6, seed=0, frame_size=(1440, 1080))
FRAME = 12
HALF_WINDOW_US = 3000
ZOOM = 3
OUT = Path(__file__).parent / "alignment_before_after.png"


def events_around(seq: Path, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with h5py.File(seq / "events/left/events.h5", "r") as f:
        t = f["events/t"][()].astype(np.int64)
        stamp = int(np.loadtxt(seq / "images/timestamps.txt", dtype=np.int64)[k])
        a, b = np.searchsorted(t, [stamp - int(f["t_offset"][()]) + d for d in (-3000, 3000)])
        return f["events/x"][a:b], f["events/y"][a:b], f["events/p"][a:b]


def counts(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    img = np.zeros((480, 640))
    np.add.at(img, (y, x), 1)
    return img


def busiest_region(x: np.ndarray, y: np.ndarray, size: tuple[int, int]) -> tuple[int, int]:
    """Top-left corner of the ``size`` window holding the most events (a moving shape)."""
    grid = counts(x, y).cumsum(0).cumsum(1)
    w, h = size
    sums = grid[h:, w:] - grid[:-h, w:] - grid[h:, :-w] + grid[:-h, :-w]
    row, col = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(col), int(row)


def panel(picture: np.ndarray, corner: tuple[int, int], title: str) -> Image.Image:
    x0, y0 = corner
    w, h = 640 // ZOOM, 480 // ZOOM
    zoom = Image.fromarray(picture[y0 : y0 + h, x0 : x0 + w]).resize((640, 480), Image.NEAREST)
    canvas = Image.new("RGB", (640, 24 + 480 + 8 + 480), "white")
    canvas.paste(Image.fromarray(picture), (0, 24))
    canvas.paste(zoom, (0, 24 + 480 + 8))
    draw = ImageDraw.Draw(canvas)
    draw.text((6, 6), title, fill=(0, 0, 0))
    draw.rectangle((x0, 24 + y0, x0 + w, 24 + y0 + h), outline=(255, 255, 0))
    return canvas


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_dsec(Path(tmp), SPEC)
        seq = Path(tmp) / "train" / "synth_00"
        x, y, p = events_around(seq, FRAME)
        with Image.open(seq / f"images/left/rectified/{FRAME:06d}.png") as im:
            frame = np.asarray(im.convert("RGB"))
        table = RectifyTable.from_map(load_rectify_map(seq))
        to_event = load_calibration(seq).frame_to_event_homography()
    keep, xr, yr = rectify_events(x, y, table)
    resized, warped = resize_frame(frame), warp_frame_to_event_view(frame, to_event)
    before = measure_offset(counts(x, y), resized)
    after = measure_offset(counts(xr, yr), warped)
    corner = busiest_region(xr, yr, (640 // ZOOM, 480 // ZOOM))
    left = panel(
        draw_events(resized, x, y, p),
        corner,
        f"before: raw events, frame resized (offset {before[0]:+.1f}, {before[1]:+.1f} px)",
    )
    right = panel(
        draw_events(warped, xr, yr, p[keep]),
        corner,
        f"after: events rectified, frame warped (offset {after[0]:+.1f}, {after[1]:+.1f} px)",
    )
    figure = Image.new("RGB", (640 * 2 + 12, left.height), "white")
    figure.paste(left, (0, 0))
    figure.paste(right, (640 + 12, 0))
    figure.save(OUT, optimize=True)
    print(f"{OUT}: offset before {before[0]:+.2f}, {before[1]:+.2f} px", end="; ")
    print(f"after {after[0]:+.2f}, {after[1]:+.2f} px")


if __name__ == "__main__":
    main()
