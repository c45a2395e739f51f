"""Helpers shared by the tests: output hashes, the real DSEC sample packed as a sequence, and
the alignment measures (event count maps, the known displacement of the synthetic cameras)."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from egpt_dsec.config import BuildConfig
from egpt_dsec.layout.dsec import SPLIT_ARCHIVES, SequenceFiles, sequence_folder
from egpt_dsec.layout.output import DATASET_CARD
from egpt_dsec.layout.state import STATE_DIR
from egpt_dsec.synth import write_events_h5
from egpt_dsec.synth.calibration import SynthCalibration

# Why the Ray tests skip: `make install` leaves Ray out; `make test` adds it.
RAY_ABSENT = (
    "Ray is not installed: `make test` installs it, or pip install -e '.[dev,ray]' "
    "(only --executor ray needs it)"
)


def input_tree(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every path under ``root`` (itself too): content hash or "dir", permission bits, and a
    folder's modification time, which a file made and deleted again (a probe) changes."""
    tree = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        if path.is_dir():
            tree[path.relative_to(root).as_posix()] = ("dir", info.st_mode, info.st_mtime_ns)
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            tree[path.relative_to(root).as_posix()] = (digest, info.st_mode, 0)
    return tree


def copy_build(config: BuildConfig, out: Path) -> BuildConfig:
    """A private copy of a finished build (its state too) at ``out``, to damage or extend."""
    shutil.copytree(config.out, out, symlinks=True)
    return dataclasses.replace(config, out=out)


def tree_hashes(root: Path, card: bool = False) -> dict[str, str]:
    """sha256 of every output file (state files excluded), keyed by relative path. The
    dataset card only with ``card``: it shows the command, options and file sizes, which
    other options or stale files of another option change."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(STATE_DIR) and (card or rel != DATASET_CARD):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


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
    folder = sequence_folder(root, split, name)
    files = SequenceFiles(folder, layout=SPLIT_ARCHIVES)
    rel = (ev["t"] - REAL_T_OFFSET).astype(np.uint32)
    write_events_h5(files.events_h5, [(ev["x"], ev["y"], ev["p"], rel)], t_offset=REAL_T_OFFSET)
    first = int(ev["t"][0]) - 176  # an image shortly before the first event
    timestamps = first + 50_000 * np.arange(int((ev["t"][-1] - first) // 50_000) + 2)
    files.timestamps.parent.mkdir(parents=True, exist_ok=True)
    files.timestamps.write_text("".join(f"{t}\n" for t in timestamps))
    files.frames_dir.mkdir(parents=True)
    rng = np.random.default_rng(7)
    for i in range(len(timestamps)):
        pixels = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(files.frame(i))
    return folder


def counts(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Events per pixel of the 640x480 sensor: the event side of ``measure_offset``."""
    img = np.zeros((480, 640))
    np.add.at(img, (y, x), 1)
    return img


def expected_displacement(s: SynthCalibration, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean position, in the frame resized to 640x480, of what raw pixels (x, y) see, minus
    (x, y): from the synthetic camera model, not through the calibration loader."""
    u, v = s.raw_to_rect(x.astype(np.float64), y.astype(np.float64))
    event_to_frame = (
        s.frame_rect.matrix
        @ s.frame_rotation
        @ s.frame_from_event
        @ s.event_rotation.T
        @ np.linalg.inv(s.event_rect.matrix)
    )
    p = event_to_frame @ np.stack([u, v, np.ones_like(u)])
    scale = np.array([640 / s.frame_rect.width, 480 / s.frame_rect.height])
    in_resized = ((p[:2] / p[2]).T + 0.5) * scale - 0.5
    return (in_resized - np.stack([x, y], axis=1)).mean(axis=0)
