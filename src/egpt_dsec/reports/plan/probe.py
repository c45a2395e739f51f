"""A short probe of this machine on a sample of the input: what the content-dependent
outputs weigh (event PNGs, H.264 frames) and how fast each stage runs on one core.

About two seconds: a few million events rendered and compressed, ten frames decoded
and encoded, and a write test of the output disk.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from egpt_dsec.config import BuildConfig
from egpt_dsec.reports.plan.cost import CostModel
from egpt_dsec.source.discover import SequenceSource
from egpt_dsec.source.frames import decode_frame
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.source.timestamps import list_frames

SAMPLE_EVENTS = 1_000_000  # per place sampled
FRAMES = 10  # per place sampled: two keyframes and eight others, as remux encodes
PLACES = (0.3, 0.7)  # where in a sequence the samples are taken
SEQUENCES = 4  # the largest ones are sampled: scenes differ, PNG sizes with them
DISK_TEST_BYTES = 64 * 2**20
_BLOCK = 4 * 2**20
# Measured on the real DSEC sample (interlaken_00_d, tests/data) at zlib level 1, for
# when the input has no readable events (a metadata-only root).
DEFAULT_PNG_POINTS = ((1_000, 2_400), (10_000, 14_000), (100_000, 52_000), (1_000_000, 90_000))


@dataclass(frozen=True)
class Throughput:
    """One-core costs on this machine (seconds per unit) and the output disk's speed."""

    read_event: float
    render_event: float
    png_image: float
    decode_frame: float  # a source frame PNG
    encode_frame: float  # an H.264 frame at the video size
    disk_bytes_per_s: float


def probe(
    config: BuildConfig,
    sources: list[SequenceSource],
    frames: int,
    video_size: tuple[int, int],
) -> tuple[CostModel, Throughput]:
    """Measure on ``sources`` (the largest sequences first; frames on the first, which has
    ``frames`` frames) and at ``config.out``."""
    png_points, read_s, render_s, png_s = _probe_images(config, sources[:SEQUENCES])
    source = sources[0]
    intra, inter, frame_bytes, decode_s, encode_s = _probe_video(config, source, frames, video_size)
    model = CostModel(png_points, intra, inter, frame_bytes)
    speed = Throughput(read_s, render_s, png_s, decode_s, encode_s, disk_write_speed(config.out))
    return model, speed


def _probe_images(
    config: BuildConfig, sources: list[SequenceSource]
) -> tuple[tuple[tuple[int, int], ...], float, float, float]:
    """PNG bytes at growing event counts (averaged over the places sampled), and the
    one-core cost of reading, rendering and compressing."""
    from egpt_dsec.render.event_image import render
    from egpt_dsec.writers.png import png_bytes

    counts = [1_000 * 4**k for k in range(6) if 1_000 * 4**k <= SAMPLE_EVENTS]
    sizes: dict[int, list[int]] = {n: [] for n in counts}
    read_s = render_s = png_s = 0.0
    read_n = render_n = images = 0
    try:
        for source in sources:
            with EventFile(source.files.events_h5) as events:
                for place in PLACES:
                    start = int(events.num_events * place)
                    started = time.perf_counter()
                    sample = events.read(start, min(events.num_events, start + SAMPLE_EVENTS))
                    read_s, read_n = read_s + time.perf_counter() - started, read_n + len(sample)
                    for n in (n for n in counts if n <= len(sample)):
                        part = sample.slice(0, n)
                        started = time.perf_counter()
                        pixels = render(part.x, part.y, part.p, config.images.style)
                        painted = time.perf_counter()
                        sizes[n].append(len(png_bytes(pixels, config.images.compress_level)))
                        render_s, render_n = render_s + painted - started, render_n + n
                        png_s, images = png_s + time.perf_counter() - painted, images + 1
    except Exception:  # a metadata-only root: no events to sample
        return DEFAULT_PNG_POINTS, 3e-8, 3e-9, 0.01
    points = tuple((n, round(float(np.mean(b)))) for n, b in sizes.items() if b)
    if not points:
        return DEFAULT_PNG_POINTS, 3e-8, 3e-9, 0.01
    return points, read_s / max(read_n, 1), render_s / max(render_n, 1), png_s / images


def _probe_video(
    config: BuildConfig, source: SequenceSource, frames: int, video_size: tuple[int, int]
) -> tuple[float, float, float, float, float]:
    """Keyframe and other-frame bytes, source frame bytes, decode and encode costs."""
    from egpt_dsec.writers.mp4_remux import probe_encode
    from egpt_dsec.writers.video_frame import to_video_frame

    paths = list_frames(source.files.frames_dir, frames)
    runs = [paths[int(len(paths) * p) :][:FRAMES] for p in PLACES]
    started = time.perf_counter()
    decoded = [[to_video_frame(decode_frame(p), *video_size) for p in run] for run in runs]
    decode_s = (time.perf_counter() - started) / sum(len(r) for r in decoded)
    frame_bytes = float(np.mean([p.stat().st_size for run in runs for p in run]))
    measured = [probe_encode(run, video_size, config.video) for run in decoded if run]
    intra, inter, encode_s = (float(np.mean([m[i] for m in measured])) for i in range(3))
    return intra, inter, frame_bytes, decode_s, encode_s


def disk_write_speed(out: Path, nbytes: int = DISK_TEST_BYTES) -> float:
    """Sequential write speed (bytes/s, fsync'd) of the disk ``out`` is, or will be, on."""
    folder = next((p for p in (out, *out.parents) if p.is_dir()), Path.cwd())
    block = os.urandom(_BLOCK)
    fd, name = tempfile.mkstemp(prefix=".disk-probe-", dir=folder)
    try:
        started = time.perf_counter()
        for _ in range(nbytes // _BLOCK):
            os.write(fd, block)
        os.fsync(fd)
        return nbytes / max(time.perf_counter() - started, 1e-9)
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)
