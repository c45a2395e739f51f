"""Seeded factories that write tiny DSEC roots into tmp folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from egpt_dsec.synth import SynthSpec, write_events_h5, write_synthetic_dsec

# A copy of ../shared/real-dsec-sample (CC BY-SA 4.0, see its README), shipped so the
# tests on real DSEC statistics always run.
REAL_SAMPLE = Path(__file__).parent / "data" / "real-dsec-sample"
REAL_T_OFFSET = 51_800_000_000


def real_sample_events() -> dict[str, np.ndarray]:
    """The three real 50 ms DSEC windows of ../shared/real-dsec-sample, concatenated."""
    files = sorted(REAL_SAMPLE.glob("*.npz"))
    assert files, f"the real DSEC sample is missing from {REAL_SAMPLE}"
    parts = [np.load(f) for f in files]
    return {k: np.concatenate([p[k] for p in parts]) for k in ("p", "t", "x", "y")}


def write_real_sequence(root: Path, name: str = "interlaken_00_d", split: str = "train") -> Path:
    """Pack the real events into the DSEC layout, with 20 Hz frames spanning them."""
    ev = real_sample_events()
    folder = root / split / name
    rel = (ev["t"] - REAL_T_OFFSET).astype(np.uint32)
    write_events_h5(
        folder / "events" / "left" / "events.h5",
        [(ev["x"], ev["y"], ev["p"], rel)],
        t_offset=REAL_T_OFFSET,
    )
    first = int(ev["t"][0]) - 176  # an image shortly before the first event
    timestamps = first + 50_000 * np.arange(int((ev["t"][-1] - first) // 50_000) + 2)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "images" / "timestamps.txt").write_text("".join(f"{t}\n" for t in timestamps))
    frames = folder / "images" / "left" / "rectified"
    frames.mkdir(parents=True)
    rng = np.random.default_rng(7)
    for i in range(len(timestamps)):
        pixels = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(frames / f"{i:06d}.png")
    return folder


@pytest.fixture(scope="session")
def small_dsec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One synthetic train sequence (6 s) plus the real events as a second sequence."""
    root = tmp_path_factory.mktemp("dsec")
    spec = SynthSpec(sequences=1, seconds=6.0, rate=4e4, seed=3, frame_size=(160, 120))
    write_synthetic_dsec(root, spec)
    write_real_sequence(root)
    return root
