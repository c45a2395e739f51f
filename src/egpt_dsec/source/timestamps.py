"""Image timestamps: one int64 microsecond value per line, on the events' clock."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.layout.dsec import FRAME_SUFFIX, TIMESTAMPS_NAME
from egpt_dsec.source.errors import InputError


def read_timestamps(path: Path) -> NDArray[np.int64]:
    """Read and validate the image timestamps (non-empty, integers, increasing)."""
    if not path.is_file():
        raise InputError(path, "image timestamps file is missing", f"restore {TIMESTAMPS_NAME}")
    text = path.read_text(encoding="ascii", errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError(
            path, "image timestamps file is empty", "restore it from the DSEC download"
        )
    try:
        ts = np.array([int(line) for line in lines], dtype=np.int64)
    except ValueError as exc:
        raise InputError(
            path, f"image timestamps are not integers ({exc})", "restore it from the DSEC download"
        ) from None
    steps = np.diff(ts)
    if np.any(steps <= 0):
        bad = int(np.argmax(steps <= 0)) + 1
        raise InputError(
            path,
            f"image timestamps are not strictly increasing "
            f"(line {bad + 1}: {ts[bad]} after {ts[bad - 1]})",
            "restore it from the DSEC download",
        )
    return ts


def list_frames(frames_dir: Path, expected: int) -> list[Path]:
    """The frame PNGs in time order; their count must match the timestamps."""
    if not frames_dir.is_dir():
        raise InputError(frames_dir, "frame folder is missing", "unzip the DSEC images archive")
    frames = sorted(p for p in frames_dir.iterdir() if p.suffix == FRAME_SUFFIX)
    if len(frames) < expected:
        raise InputError(
            frames_dir,
            f"{len(frames)} frame PNGs for {expected} timestamps",
            "re-extract the images archive of this sequence",
        )
    return frames[:expected]
