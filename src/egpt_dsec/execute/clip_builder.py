"""One clip being built while its sequence streams past: events in, frames in, files out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray

from egpt_dsec.config import BuildConfig
from egpt_dsec.events import Events
from egpt_dsec.execute.report import JobStats
from egpt_dsec.layout import OutputLayout
from egpt_dsec.manifest import ClipRecord
from egpt_dsec.plan.clips import Clip, nearest_frame
from egpt_dsec.render.event_image import new_canvas, paint, part_bounds, to_pixels
from egpt_dsec.writers.event_image import save_png
from egpt_dsec.writers.event_npy import ClipMetadata, EventNpyWriter
from egpt_dsec.writers.frames import link_frames
from egpt_dsec.writers.mp4 import Mp4ClipWriter

FILE_COMPONENTS = ("event_npy", "event_image", "video", "mp4")


@dataclass(frozen=True)
class SequenceContext:
    """What every clip of one job shares (``stats`` is the job's, updated in place)."""

    split: str
    sequence: str
    config: BuildConfig
    layout: OutputLayout
    timestamps: NDArray[np.int64]
    frame_paths: list[Path]
    video_size: tuple[int, int]
    stats: JobStats


def clip_metadata(clip: Clip, timestamps: NDArray[np.int64], num_events: int) -> ClipMetadata:
    """The EventGPT metadata stored beside a clip's events."""
    return ClipMetadata(
        time_start=clip.t0,
        time_end=clip.t1,
        duration_ms=clip.duration.ms,
        image_timestamp=clip.t1,
        image_idx=nearest_frame(timestamps, clip.t1),
        image_indices_in_clip=tuple(clip.frame_indices),
        num_events=num_events,
    )


class ClipBuilder:
    """Writes the components ``needs`` of one clip; events and frames arrive in time order.

    ``needs`` never holds ``mp4`` in remux mode: those MP4s are cut after the
    sequence encode, by the job.
    """

    def __init__(
        self, ctx: SequenceContext, clip: Clip, event_start: int, event_stop: int, needs: set[str]
    ) -> None:
        self.ctx, self.clip = ctx, clip
        self.event_start, self.num_events = event_start, event_stop - event_start
        self.needs = needs if self.num_events else set()  # an empty window writes no files
        self._npy: EventNpyWriter | None = None
        self._mp4: Mp4ClipWriter | None = None
        self._parts: list[tuple[int, int]] = []
        self._part = 0
        if "event_npy" in self.needs and ctx.config.event_format == "npy":
            path = ctx.layout.event_npy(ctx.split, clip.duration, ctx.sequence, clip.index)
            self._npy = EventNpyWriter(path, clip_metadata(clip, ctx.timestamps, self.num_events))
        if "event_image" in self.needs:
            self._parts = part_bounds(self.num_events, ctx.config.images.count_for(clip.duration))
            self._canvas = new_canvas(ctx.config.images.style)
        if "mp4" in self.needs:
            path = ctx.layout.mp4(ctx.split, clip.duration, ctx.sequence, clip.index)
            self._mp4 = Mp4ClipWriter(path, *ctx.video_size, ctx.config.video)

    @property
    def wants_events(self) -> bool:
        return self._npy is not None or bool(self._parts)

    @property
    def wants_frames(self) -> bool:
        return self._mp4 is not None

    def feed_events(self, start: int, events: Events) -> None:
        """Events whose first one has index ``start`` in the sequence; all inside the clip."""
        offset = start - self.event_start
        if self._npy is not None:
            with self.ctx.stats.timed("write_npy"):
                self._npy.write(offset, events)
        end = offset + len(events)
        while self._part < len(self._parts):
            lo, hi = self._parts[self._part]
            a, b = max(lo, offset), min(hi, end)
            if a < b:
                part = events.slice(a - offset, b - offset)
                with self.ctx.stats.timed("render"):
                    paint(self._canvas, part.x, part.y, part.p)
            if hi > end:
                break  # this image goes on in the next chunk
            self._save_part()

    def _save_part(self) -> None:
        ctx, clip = self.ctx, self.clip
        path = ctx.layout.event_image(
            ctx.split, clip.duration, ctx.sequence, clip.index, self._part
        )
        with ctx.stats.timed("write_png"):
            save_png(path, to_pixels(self._canvas), ctx.config.images.compress_level)
        ctx.stats.images_written += 1
        self._count_file("event_image", path)
        self._canvas = new_canvas(ctx.config.images.style)
        self._part += 1

    def feed_frame(self, frame: av.VideoFrame) -> None:
        if self._mp4 is not None:
            with self.ctx.stats.timed("encode_mp4"):
                self._mp4.add(frame)

    def finish(self, done_before: tuple[str, ...]) -> ClipRecord:
        """Commit every file, link the frames, and return the manifest record."""
        ctx, clip, stats = self.ctx, self.clip, self.ctx.stats
        if self._npy is not None:
            with stats.timed("write_npy"):
                self._npy.commit()
            self._count_file(
                "event_npy",
                ctx.layout.event_npy(ctx.split, clip.duration, ctx.sequence, clip.index),
            )
        if self._part != len(self._parts):
            raise RuntimeError(f"clip {clip.key}: only {self._part} event images were completed")
        if self._mp4 is not None:
            with stats.timed("encode_mp4"):
                stats.frames_encoded += self._mp4.commit()
            self._count_file(
                "mp4", ctx.layout.mp4(ctx.split, clip.duration, ctx.sequence, clip.index)
            )
        if "video" in self.needs:
            folder = ctx.layout.video_dir(ctx.split, clip.duration, ctx.sequence, clip.index)
            with stats.timed("link_frames"):
                link_frames(
                    ctx.frame_paths[clip.frame_start : clip.frame_stop],
                    folder,
                    ctx.config.video.frames,
                )
            stats.files_written += clip.frame_stop - clip.frame_start
        wanted = set(FILE_COMPONENTS) & set(ctx.config.components)
        built = self.needs if self.num_events else wanted  # nothing to write counts as done
        return ClipRecord(
            duration=clip.duration.label,
            clip=clip.index,
            t0=clip.t0,
            t1=clip.t1,
            num_events=self.num_events,
            frame_start=clip.frame_start,
            frame_stop=clip.frame_stop,
            parts=ctx.config.images.count_for(clip.duration),
            components=tuple(sorted(set(built) | set(done_before))),
            event_start=self.event_start,
            image_idx=nearest_frame(ctx.timestamps, clip.t1),
        )

    def abort(self) -> None:
        """Drop unfinished temp files (files already renamed are complete and stay)."""
        if self._npy is not None:
            self._npy.abort()
        if self._mp4 is not None:
            self._mp4.abort()

    def _count_file(self, component: str, path: Path) -> None:
        self.ctx.stats.files_written += 1
        self.ctx.stats.add_bytes(component, path.stat().st_size)
