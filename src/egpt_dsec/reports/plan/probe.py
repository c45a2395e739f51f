"""A short probe of this machine on a sample of the input: what the content-dependent
outputs weigh (event PNGs, H.264 frames) and how fast each stage runs on one core.

About two seconds: a few million events rendered and compressed, ten frames decoded
and encoded, and a write test of the output disk.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from egpt_dsec.config import BuildConfig
from egpt_dsec.events import Events
from egpt_dsec.fs import WriteBehind
from egpt_dsec.kinds.contexts import CostModel, Throughput
from egpt_dsec.layout.output import DISK_PROBE_PREFIX
from egpt_dsec.source.discover import SequenceSource
from egpt_dsec.source.h5events import EventFile

SAMPLE_EVENTS = 1_000_000  # per place sampled
FRAMES = 10  # per place sampled: two keyframes and eight others, as remux encodes
PLACES = (0.3, 0.7)  # where in a sequence the samples are taken
SEQUENCES = 4  # the largest ones are sampled: scenes differ, PNG sizes with them
DISK_TEST_BYTES = 64 * 2**20
DISK_STREAMS = 4  # files written at once: a build writes many, and disks sustain more so
_BLOCK = 8 * 2**20
# Measured on the real DSEC sample (interlaken_00_d, tests/data) at zlib level 1, for
# when the input has no readable events (a metadata-only root).
DEFAULT_PNG_POINTS = ((1_000, 2_400), (10_000, 14_000), (100_000, 52_000), (1_000_000, 90_000))


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
    video = _probe_video(config, source, frames, video_size)
    model = CostModel(png_points, video.intra, video.inter, video.frame_bytes)
    disk = disk_write_speed(config.out)
    speed = Throughput(
        read_s, render_s, png_s, video.decode_s, video.encode_s, disk, video.keep_s,
        _probe_kinds(config, source),
    )  # fmt: skip
    return model, speed


def _probe_kinds(config: BuildConfig, source: SequenceSource) -> dict[str, float]:
    """Seconds per clip event of the kinds that measure their own work, on real events."""
    try:
        with EventFile(source.files.events_h5) as events:
            start = int(events.num_events * PLACES[0])
            sample = events.read(start, min(events.num_events, start + SAMPLE_EVENTS))
    except Exception:  # a metadata-only root: no events to sample
        sample = Events.empty()
    return {
        key: seconds
        for kind in config.kinds
        for key, seconds in kind.probe(sample, config.options_of(kind)).items()
    }


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
                        pixels = render(part.x, part.y, part.p, config.event_image.style)
                        painted = time.perf_counter()
                        sizes[n].append(len(png_bytes(pixels, config.event_image.compress_level)))
                        render_s, render_n = render_s + painted - started, render_n + n
                        png_s, images = png_s + time.perf_counter() - painted, images + 1
    except Exception:  # a metadata-only root: no events to sample
        return DEFAULT_PNG_POINTS, 3e-8, 3e-9, 0.01
    points = tuple((n, round(float(np.mean(b)))) for n, b in sizes.items() if b)
    if not points:
        return DEFAULT_PNG_POINTS, 3e-8, 3e-9, 0.01
    return points, read_s / max(read_n, 1), render_s / max(render_n, 1), png_s / images


@dataclass(frozen=True)
class _VideoProbe:
    intra: float  # bytes of a keyframe
    inter: float  # bytes of another frame
    frame_bytes: float  # bytes of a frame file (the warped PNG, in the event view)
    decode_s: float
    encode_s: float
    keep_s: float  # event view: compressing a warped frame


def _probe_video(
    config: BuildConfig, source: SequenceSource, frames: int, video_size: tuple[int, int]
) -> _VideoProbe:
    """Keyframe and other-frame bytes, frame file bytes, decode and encode costs."""
    from egpt_dsec.execute.frame_source import FRAME_PNG_LEVEL, FrameSource
    from egpt_dsec.writers.mp4_remux import probe_encode
    from egpt_dsec.writers.png import PAETH, png_bytes
    from egpt_dsec.writers.video_frame import to_video_frame

    view = FrameSource.of(source, config, frames)
    runs = [range(int(frames * p), min(frames, int(frames * p) + FRAMES)) for p in PLACES]
    started = time.perf_counter()
    rgb = [[view.rgb(i) for i in run] for run in runs]
    decoded = [[to_video_frame(f, *video_size) for f in run] for run in rgb]
    decode_s = (time.perf_counter() - started) / max(sum(len(r) for r in decoded), 1)
    frame_bytes = float(np.mean([view.source[i].stat().st_size for run in runs for i in run]))
    keep_s = 0.0
    if view.event_view:
        started = time.perf_counter()
        kept = [len(png_bytes(f, FRAME_PNG_LEVEL, PAETH)) for run in rgb for f in run]
        keep_s = (time.perf_counter() - started) / max(len(kept), 1)
        frame_bytes = float(np.mean(kept))
    measured = [probe_encode(run, video_size, config.mp4) for run in decoded if run]
    intra, inter, encode_s = (float(np.mean([m[i] for m in measured])) for i in range(3))
    return _VideoProbe(intra, inter, frame_bytes, decode_s, encode_s, keep_s)


def disk_write_speed(
    out: Path, nbytes: int = DISK_TEST_BYTES, streams: int = DISK_STREAMS
) -> float:
    """Sequential write speed (bytes/s) of the disk ``out`` is, or will be, on, written the
    way the build writes its npy files: handed to the disk as written and dropped from the
    page cache (``fs.WriteBehind``), then fsync'ed. ``streams`` files are written at once
    (a build writes many). The files go in the nearest existing folder of ``out``: only
    after ``pipeline.preflight`` has refused an ``out`` inside or around the DSEC root."""
    folder = next((p for p in (out, *out.parents) if p.is_dir()), Path.cwd())
    block = os.urandom(_BLOCK)  # incompressible, in case the storage compresses
    per_stream = max(1, nbytes // _BLOCK // streams)
    names: list[str] = []
    fds: list[int] = []
    try:
        for _ in range(streams):
            fd, name = tempfile.mkstemp(prefix=DISK_PROBE_PREFIX, dir=folder)
            fds.append(fd)
            names.append(name)
        started = time.perf_counter()
        threads = [threading.Thread(target=_write, args=(fd, per_stream, block)) for fd in fds]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return streams * per_stream * _BLOCK / max(time.perf_counter() - started, 1e-9)
    finally:
        for fd in fds:
            os.close(fd)
        for name in names:
            with contextlib.suppress(OSError):
                os.unlink(name)


def _write(fd: int, blocks: int, block: bytes) -> None:
    behind = WriteBehind(fd)
    for i in range(blocks):
        os.pwrite(fd, block, i * len(block))
        behind.wrote(i * len(block), len(block))
    os.fsync(fd)
    behind.finish()
