"""The CPU floor of a build: what its stages cost on one core, divided by the cores.

A build can be no faster than its disk (bytes / write speed) and no faster than its CPU:
each stage's one-core cost per unit, measured here on samples of the very input the
build read and the very images it wrote (the CPU time of one thread, warm caches, right
after the build), times the build's own work counts, summed, divided by the cores. The build's
wall time over max(disk floor, CPU floor) says how much of the machine it leaves idle.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench_runs import BuildRun
from egpt_dsec.config import BuildConfig
from egpt_dsec.events import Events
from egpt_dsec.fs import WriteBehind
from egpt_dsec.kinds.event_npy import EVENT_BYTES
from egpt_dsec.layout.state import sequence_of
from egpt_dsec.render.event_image import PartPainter
from egpt_dsec.source.discover import SequenceSource, discover_sequences
from egpt_dsec.source.frames import decode_frame, frame_size
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.source.timestamps import list_frames, read_timestamps
from egpt_dsec.writers.mp4_remux import SequenceEncoder
from egpt_dsec.writers.png import save_png
from egpt_dsec.writers.video_frame import to_video_frame, video_size

SAMPLE_EVENTS = 8_000_000  # events read and rendered per sequence
SAMPLE_FRAMES = 40  # frames decoded and encoded per sequence
SAMPLE_IMAGES = 60  # event images compressed again
SAMPLE_NPY_BYTES = 512 * 2**20  # written the build's way, then deleted
NPY_BLOCK = 8 * 2**20  # bytes per write: a chunk's ``t`` column in one clip is ~10 MB
KEYFRAME_EVERY = 5  # a remux encode's clip borders: every 250 ms with 500 ms clips
IN_BUILD = ("remux_mp4", "link_frames")  # small stages: the build's own seconds


@dataclass(frozen=True)
class StageCost:
    """One stage's share: ``units`` of work at ``per_unit`` seconds each on one core."""

    stage: str
    unit: str
    per_unit: float
    units: int

    @property
    def seconds(self) -> float:
        return self.per_unit * self.units


@dataclass(frozen=True)
class CpuFloor:
    costs: tuple[StageCost, ...]
    cores: int

    @property
    def one_core(self) -> float:
        return sum(c.seconds for c in self.costs)

    @property
    def seconds(self) -> float:
        return self.one_core / self.cores


def _timed(fn: Callable[[], object]) -> float:
    started = time.thread_time()
    fn()
    return time.thread_time() - started


def _per_sequence(run: BuildRun, source: SequenceSource, field: str) -> int:
    """A counter summed over the jobs of one sequence (its shards too)."""
    return sum(
        getattr(stats, field)
        for key, stats in run.job_stats.items()
        if sequence_of(key) == source.key
    )


def _sample_events(source: SequenceSource, chunk: int) -> tuple[float, list[Events]]:
    """Seconds per event read (Blosc + checks, warm cache) and the events read."""
    with EventFile(source.files.events_h5) as events:
        stop = min(events.num_events, SAMPLE_EVENTS)
        spans = [(s, min(s + chunk, stop)) for s in range(0, stop, chunk)]
        for span in spans:  # warm the page cache: the floor is CPU, not disk
            events.read(*span)
        started = time.thread_time()
        runs = [events.read(*span) for span in spans]
        seconds = time.thread_time() - started
    return seconds / max(1, stop), runs


def _render_cost(config: BuildConfig, runs: list[Events]) -> float:
    """Seconds per event painted, as a clip's count-split images are."""
    total = sum(len(r) for r in runs)
    style = config.event_image.style

    def paint() -> None:
        painter = PartPainter(total, config.event_image.count, style)
        for run in runs:
            painter.feed_events(run)
        painter.finish()

    paint()  # compile
    return _timed(paint) / max(1, total)


def _frame_costs(config: BuildConfig, source: SequenceSource) -> tuple[float, float]:
    """(decode + colour conversion, x264) seconds per frame of this sequence."""
    timestamps = read_timestamps(source.files.timestamps)
    paths = list_frames(source.files.frames_dir, len(timestamps))
    picks = [paths[i] for i in np.linspace(0, len(paths) - 1, SAMPLE_FRAMES).astype(int)]
    size = video_size(*frame_size(picks[0]), config.mp4.size)
    for path in picks:
        decode_frame(path)  # warm the page cache
    frames = []
    started = time.thread_time()
    for path in picks:
        frames.append(to_video_frame(decode_frame(path), *size))
    decode = (time.thread_time() - started) / len(picks)
    with tempfile.TemporaryDirectory(dir=config.out) as scratch:
        keyframes = range(0, len(frames), KEYFRAME_EVERY)
        encoder = SequenceEncoder(Path(scratch) / "x.mp4", *size, config.video, keyframes)

        def encode() -> None:
            for frame in frames:
                encoder.add(frame)
            encoder.finish().close()

        encode_seconds = _timed(encode)
    return decode, encode_seconds / len(frames)


def _png_cost(config: BuildConfig) -> float:
    """Seconds per event image, compressing again images this build wrote."""
    from PIL import Image

    images = sorted(config.out.rglob("event_image/**/*.png"))
    if not images:
        return 0.0
    picks = [images[i] for i in np.linspace(0, len(images) - 1, SAMPLE_IMAGES).astype(int)]
    pixels = []
    for path in picks:
        with Image.open(path) as image:
            pixels.append(np.asarray(image))
    with tempfile.TemporaryDirectory(dir=config.out) as scratch:
        level = config.event_image.compress_level
        seconds = _timed(
            lambda: [save_png(Path(scratch) / f"{i}.png", p, level) for i, p in enumerate(pixels)]
        )
    return seconds / len(pixels)


def _npy_write_cost(config: BuildConfig, runs: list[Events]) -> float:
    """CPU seconds per byte of the npy writes, written as the build writes them (the
    copy into the kernel and the start of the write-back; the disk is the disk floor)."""
    data = memoryview(b"".join(bytes(r.t.data) for r in runs))[:NPY_BLOCK]
    if not data:
        return 0.0
    repeats = max(1, SAMPLE_NPY_BYTES // len(data))
    fd, name = tempfile.mkstemp(dir=config.out)
    try:
        behind = WriteBehind(fd)
        started = time.thread_time()
        for i in range(repeats):
            os.pwrite(fd, data, i * len(data))
            behind.wrote(i * len(data), len(data))
        seconds = time.thread_time() - started
    finally:
        os.close(fd)
        os.unlink(name)
    return seconds / (repeats * len(data))


def measure_cpu_floor(run: BuildRun, cores: int) -> CpuFloor:
    """The floor of ``run``'s build, measured now on its input and outputs."""
    config, stats = run.config, run.stats
    costs: list[StageCost] = []
    runs: list[Events] = []
    for source in discover_sequences(config.dsec_root, config.splits, config.sequences):
        read, runs = _sample_events(source, config.max_chunk_events)
        decoded = _per_sequence(run, source, "events_decoded")
        costs.append(StageCost(f"read_events {source.name}", "event", read, decoded))
        frames = _per_sequence(run, source, "frames_decoded")
        if frames:
            decode, encode = _frame_costs(config, source)
            encoded = _per_sequence(run, source, "frames_encoded")
            costs.append(StageCost(f"decode_frames {source.name}", "frame", decode, frames))
            costs.append(StageCost(f"encode_mp4 {source.name}", "frame", encode, encoded))
    if config.wants("event_image"):
        render = _render_cost(config, runs)
        costs.append(StageCost("render", "event copy", render, stats.events_in_clips))
        costs.append(StageCost("write_png", "image", _png_cost(config), stats.images_written))
    npy = stats.bytes_written.get("event_npy", 0)
    if npy:
        per_byte = _npy_write_cost(config, runs)
        per_event = per_byte * EVENT_BYTES
        costs.append(
            StageCost("write_npy (CPU of the writes)", "event copy", per_event, npy // EVENT_BYTES)
        )
    for stage in IN_BUILD:
        if run.stage(stage):
            costs.append(StageCost(f"{stage} (the build's own time)", "build", run.stage(stage), 1))
    return CpuFloor(tuple(costs), cores)
