"""Make docs/alignment_before_after.png: a clip's events over its frame, as built without
and with alignment.

    .venv/bin/python docs/make_alignment_figure.py

Synthesizes a small DSEC (one sequence with DSEC's geometry: raw distorted events,
1440x1080 frames of the other camera, a known calibration) and builds it twice: with the
default options, and with ``--rectify-events --frames-view event``. Both panels come from
the BUILD OUTPUTS, one 500 ms clip: its events within 3 ms of a frame (from the clip's
.npy) over that frame (from the clip's frame folder). Left: the default build, raw events
over the frame resized to 640x480. Right: the aligned build, rectified events over the
frame warped into the event view. Below each, a 3x zoom of one region. The measured
offsets (``render.alignment.measure_offset``) are in the titles and printed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import Duration
from egpt_dsec.kinds import EVENT_NPY, VIDEO
from egpt_dsec.pipeline import build
from egpt_dsec.render.alignment import measure_offset
from egpt_dsec.render.warp import resize_frame
from egpt_dsec.reports.preview.overlay import draw_events
from egpt_dsec.safe_npy import load_event_npy
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec

SPEC = SynthSpec(sequences=1, seconds=1.0, rate=3e6, seed=0, frame_size=(1440, 1080))
SEQUENCE, CLIP = "synth_00", 1  # the middle 500 ms clip of the 1 s sequence
DURATION = Duration.parse("500ms")
HALF_WINDOW_US = 3000  # events within 3 ms of the frame: the shapes move < 1 px
ZOOM = 3
OUT = Path(__file__).parent / "alignment_before_after.png"


def clip_view(dsec: Path, out: Path, **options: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Build ``dsec`` into ``out``; the middle frame of the clip (as its frame folder holds
    it) and the clip's events within HALF_WINDOW_US of it (as its .npy holds them)."""
    config = BuildConfig(
        dsec_root=dsec, out=out, durations=(DURATION,), components=("event_npy", "video"),
        **options,
    )  # fmt: skip
    report = build(config)
    assert not report.failures, report.failures
    layout = config.output
    data = load_event_npy(layout.clip_path(EVENT_NPY, "train", DURATION, SEQUENCE, CLIP))
    frames = list(data["image_indices_in_clip"])
    k = frames[len(frames) // 2]
    folder = layout.clip_path(VIDEO, "train", DURATION, SEQUENCE, CLIP)
    with Image.open(folder / f"{k:06d}.png") as im:
        frame = np.asarray(im.convert("RGB"))
    stamp = int(np.loadtxt(dsec / "train" / SEQUENCE / "images/timestamps.txt", np.int64)[k])
    near = np.abs(data["t"] - stamp) < HALF_WINDOW_US
    return frame, {key: data[key][near] for key in ("x", "y", "p")}


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
    zoom = Image.fromarray(picture[y0 : y0 + h, x0 : x0 + w]).resize(
        (640, 480), Image.Resampling.NEAREST
    )
    canvas = Image.new("RGB", (640, 24 + 480 + 8 + 480), "white")
    canvas.paste(Image.fromarray(picture), (0, 24))
    canvas.paste(zoom, (0, 24 + 480 + 8))
    draw = ImageDraw.Draw(canvas)
    draw.text((6, 6), title, fill=(0, 0, 0))
    draw.rectangle((x0, 24 + y0, x0 + w, 24 + y0 + h), outline=(255, 255, 0))
    return canvas


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        dsec = Path(tmp) / "dsec"
        write_synthetic_dsec(dsec, SPEC)
        frame, raw = clip_view(dsec, Path(tmp) / "default")
        warped, rect = clip_view(
            dsec, Path(tmp) / "aligned", rectify_events=True, frames_view="event"
        )
    resized = resize_frame(frame)
    before = measure_offset(counts(raw["x"], raw["y"]), resized)
    after = measure_offset(counts(rect["x"], rect["y"]), warped)
    corner = busiest_region(rect["x"], rect["y"], (640 // ZOOM, 480 // ZOOM))
    left = panel(
        draw_events(resized, raw["x"], raw["y"], raw["p"]),
        corner,
        f"default build: raw events, frame resized; offset {before[0]:+.1f}, {before[1]:+.1f} px",
    )
    right = panel(
        draw_events(warped, rect["x"], rect["y"], rect["p"]),
        corner,
        "--rectify-events --frames-view event: events rectified, frame warped; "
        f"offset {after[0]:+.2f}, {after[1]:+.2f} px",
    )
    figure = Image.new("RGB", (640 * 2 + 12, left.height), "white")
    figure.paste(left, (0, 0))
    figure.paste(right, (640 + 12, 0))
    figure.save(OUT, optimize=True)
    size_kb = OUT.stat().st_size // 1024
    print(
        f"{OUT} ({size_kb} kB): clip {CLIP} of {DURATION.label}, {len(raw['x'])} raw and ", end=""
    )
    print(f"{len(rect['x'])} rectified events; offset before {before[0]:+.2f}, ", end="")
    print(f"{before[1]:+.2f} px; after {after[0]:+.2f}, {after[1]:+.2f} px")


if __name__ == "__main__":
    main()
