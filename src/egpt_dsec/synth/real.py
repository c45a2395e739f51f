"""Real DSEC events packed into the DSEC layout: the sample as is, or replayed to any length.

``tests/data/real-dsec-sample`` (or any folder of ``*.npz`` with ``p, t, x, y``, ``t``
absolute µs) holds short windows of real events. :func:`write_replayed_sequence` lays
those windows end to end, each on a fixed period (50 ms for the sample), repeating them
until the requested length: every event keeps its own position, polarity and time
inside its window, so the stream has real spatial clustering at the real rate (or,
given a lower rate, the windows are stretched in time to it). Frames are synthetic (a
random :class:`~egpt_dsec.synth.scene.Scene`), 20 Hz, spanning the events.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.events import Events
from egpt_dsec.layout.dsec import SPLIT_ARCHIVES, SequenceFiles
from egpt_dsec.synth.calibration import SynthCalibration
from egpt_dsec.synth.frames import FRAME_PERIOD_US, write_frames, write_timestamps
from egpt_dsec.synth.h5 import write_cam_to_cam, write_events_h5, write_rectify_map
from egpt_dsec.synth.scene import Scene
from egpt_dsec.synth.spec import FRAME_HZ

_REPO = Path(__file__).resolve().parents[3]
# The copy shipped with the tests (source checkouts), else the shared folder beside the repo.
REAL_SAMPLE_DIR = next(
    (
        d
        for d in (
            _REPO / "tests" / "data" / "real-dsec-sample",
            _REPO.parent / "shared" / "real-dsec-sample",
        )
        if d.is_dir()
    ),
    _REPO / "tests" / "data" / "real-dsec-sample",
)
REAL_T_OFFSET = 51_800_000_000  # a t_offset of the order of interlaken_00_d's
WINDOW_US = 50_000  # the sample's windows are 50 ms each
FIRST_FRAME_US = 200  # relative time of the first image, as in DSEC (a few hundred µs)
TILES_PER_CHUNK = 12  # windows per chunk handed to the HDF5 writer


def load_windows(sample_dir: Path = REAL_SAMPLE_DIR) -> list[Events]:
    """The sample's windows in file-name order; ``t`` relative to each window's first event."""
    files = sorted(Path(sample_dir).glob("*.npz"))
    if not files:
        raise FileNotFoundError(f"no real event windows (*.npz) in {sample_dir}")
    windows = []
    for path in files:
        with np.load(path) as d:
            t = d["t"].astype(np.int64)
            windows.append(
                Events(
                    x=d["x"].astype(np.uint16),
                    y=d["y"].astype(np.uint16),
                    p=d["p"].astype(np.uint8),
                    t=t - int(t[0]) if len(t) else t,
                )
            )
    return windows


def replay_rate(windows: list[Events], window_us: int = WINDOW_US) -> float:
    """Mean events per second of the replayed stream."""
    return sum(len(w) for w in windows) / (len(windows) * window_us / 1e6)


def replayed_chunks(
    windows: list[Events], tiles: int, window_us: int = WINDOW_US
) -> Iterator[tuple[NDArray[np.uint16], NDArray[np.uint16], NDArray[np.uint8], NDArray[np.uint32]]]:
    """``(x, y, p, t)`` with relative uint32 times: window ``i % n`` placed at ``i * window_us``."""
    if any(len(w) and int(w.t[-1]) >= window_us for w in windows):
        raise ValueError(f"a window is longer than its {window_us} us period")
    for first in range(0, tiles, TILES_PER_CHUNK):
        picks = [
            (i, windows[i % len(windows)])
            for i in range(first, min(first + TILES_PER_CHUNK, tiles))
        ]
        yield (
            np.concatenate([w.x for _, w in picks]),
            np.concatenate([w.y for _, w in picks]),
            np.concatenate([w.p for _, w in picks]),
            np.concatenate([(w.t + i * window_us).astype(np.uint32) for i, w in picks]),
        )


def stretched(windows: list[Events], factor: float) -> list[Events]:
    """The windows slowed down ``factor`` times: same events, times scaled (rate / factor)."""
    return [Events(p=w.p, t=np.floor(w.t * factor).astype(np.int64), x=w.x, y=w.y) for w in windows]


def write_replayed_sequence(
    folder: Path,
    seconds: float,
    frame_size: tuple[int, int] = (640, 480),
    sample_dir: Path = REAL_SAMPLE_DIR,
    seed: int = 0,
    t_offset: int = REAL_T_OFFSET,
    rate: float | None = None,
) -> int:
    """A DSEC sequence of ``seconds`` of replayed real events; returns the event count.

    The image clock starts at ``FIRST_FRAME_US`` and spans ``seconds`` (both ends); the
    events run on to the end of the window after the last image. ``rate`` (events/s,
    at most the sample's own) stretches the windows in time to that mean rate.
    """
    windows = load_windows(sample_dir)
    window_us = WINDOW_US
    if rate is not None:
        factor = replay_rate(windows) / rate
        if factor < 1:
            raise ValueError(f"rate {rate:g} ev/s is above the sample's own rate")
        windows, window_us = stretched(windows, factor), round(WINDOW_US * factor)
    frame_count = round(seconds * FRAME_HZ) + 1
    frames_rel = FIRST_FRAME_US + FRAME_PERIOD_US * np.arange(frame_count, dtype=np.int64)
    tiles = int(frames_rel[-1]) // window_us + 1
    files = SequenceFiles(folder, layout=SPLIT_ARCHIVES)
    chunks = replayed_chunks(windows, tiles, window_us)
    written = write_events_h5(files.events_h5, chunks, t_offset)
    # The real events keep their raw pixels; the calibration is a synthetic camera pair
    # (the frames are synthetic too), so --rectify-events and --frames-view work on it.
    rng = np.random.default_rng(seed)
    calibration = SynthCalibration.random(rng, frame_size)
    write_rectify_map(files.rectify_map, calibration.rectify_map())
    write_cam_to_cam(files.calibration, calibration.cam_to_cam())
    scene = Scene.random(rng)
    to_event = calibration.calibration().frame_to_event_homography()
    write_frames(files, scene, frames_rel, frame_size, to_event)
    write_timestamps(files.timestamps, frames_rel + t_offset)
    return written
