"""One kind's output of one clip, fed while the sequence streams past.

Each file kind has one part class here, looked up in ``PART_OF`` by kind: the clip
builder holds the parts a clip needs and feeds them events and frames in time order.
A part hands its slow work (npy writes, PNG compression, x264) to the job's lanes and
keeps the futures: when the clip ends it is ``close``d, and once every future is done
it is ``commit``ted, in the pass's thread, which alone touches the stats.
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import Any

import av
import numpy as np
from numpy.typing import NDArray

from egpt_dsec.events import EVENT_DTYPES, Events
from egpt_dsec.execute.context import SequenceContext
from egpt_dsec.kinds import EVENT_IMAGE, EVENT_NPY, MP4, VIDEO, OutputKind
from egpt_dsec.plan.clips import Clip
from egpt_dsec.render.event_image import PartPainter
from egpt_dsec.writers.event_npy import ClipMetadata, EventNpyWriter
from egpt_dsec.writers.frames import link_frames
from egpt_dsec.writers.mp4 import Mp4ClipWriter
from egpt_dsec.writers.png import save_png

EVENT_BYTES = sum(dtype.itemsize for dtype in EVENT_DTYPES.values())


class ClipPart:
    """One kind's files of one clip: fed events and frames in time order, closed, committed.
    What every part shares: its clip, the job context, its pending work, file accounting."""

    wants_events = False
    wants_frames = False
    kind: OutputKind

    def __init__(self, ctx: SequenceContext, clip: Clip, num_events: int) -> None:
        self.ctx, self.clip, self.num_events = ctx, clip, num_events
        self.pending: list[Future[Any]] = []

    def path(self, part: int = 0) -> Path:
        c = self.clip
        return self.ctx.layout.clip_path(
            self.kind, self.ctx.split, c.duration, self.ctx.sequence, c.index, part
        )

    def feed_events(self, offset: int, events: Events) -> None:
        """Events at positions [offset, offset + len) of the clip, in order."""

    def feed_frame(self, frame: av.VideoFrame) -> None:
        """The clip's next frame, converted once for every encoder."""

    def close(self) -> None:
        """The clip has ended: hand over the last work; the files are in place once
        ``pending`` is done."""

    def commit(self) -> None:
        """Account for the files, once ``pending`` is done."""
        self.count_file(self.path())

    def abort(self) -> None:
        """Drop unfinished temp files (files already renamed are complete and stay).
        Called once the lanes have stopped."""

    def count_file(self, path: Path) -> None:
        self.ctx.stats.files_written += 1
        self.ctx.stats.add_bytes(self.kind.name, path.stat().st_size)


class NpyPart(ClipPart):
    """The clip's ``.npy``: chunks written at their offsets by the writer thread, which
    also renames the file into place after the last one."""

    kind = EVENT_NPY
    wants_events = True

    def __init__(self, ctx: SequenceContext, clip: Clip, num_events: int) -> None:
        super().__init__(ctx, clip, num_events)
        self._writer = EventNpyWriter(self.path(), ClipMetadata.of(clip, num_events))

    def feed_events(self, offset: int, events: Events) -> None:
        lane = self.ctx.lanes.writes
        weight = len(events) * EVENT_BYTES
        self.pending.append(lane.submit(self._write, offset, events, weight=weight))

    def close(self) -> None:
        self.pending.append(self.ctx.lanes.writes.submit(self._commit))

    def _write(self, offset: int, events: Events) -> None:
        with self.ctx.stats.timed("write_npy"):
            self._writer.write(offset, events)

    def _commit(self) -> None:
        with self.ctx.stats.timed("write_npy"):
            self._writer.commit()

    def abort(self) -> None:
        self._writer.abort()


class ImagePart(ClipPart):
    """EventGPT's N images, split by event count; painted here, one canvas alive at a
    time, and compressed to PNG by the CPU threads."""

    kind = EVENT_IMAGE
    wants_events = True

    def __init__(self, ctx: SequenceContext, clip: Clip, num_events: int) -> None:
        super().__init__(ctx, clip, num_events)
        images = ctx.config.images
        self.parts = images.count_for(clip.duration)
        self._painter = PartPainter(num_events, self.parts, images.style)

    def feed_events(self, offset: int, events: Events) -> None:
        with self.ctx.stats.timed("render"):
            done = self._painter.feed_events(events)
        self._save(done)

    def close(self) -> None:
        self._save(self._painter.finish())

    def commit(self) -> None:
        for part in range(self.parts):
            self.ctx.stats.images_written += 1
            self.count_file(self.path(part))

    def _save(self, done: list[tuple[int, NDArray[np.uint8]]]) -> None:
        for part, pixels in done:
            self.pending.append(self.ctx.lanes.images.submit(self._save_png, part, pixels))

    def _save_png(self, part: int, pixels: NDArray[np.uint8]) -> None:
        with self.ctx.stats.timed("write_png"):
            save_png(self.path(part), pixels, self.ctx.config.images.compress_level)


class FramesPart(ClipPart):
    """The clip's frame folder: links to the frame PNGs (DSEC's, or the event-view ones
    the job warped before the pass), made when the clip ends."""

    kind = VIDEO

    def close(self) -> None:
        c, ctx = self.clip, self.ctx
        with ctx.stats.timed("link_frames"):
            frames = ctx.frames.linked[c.frame_start : c.frame_stop]
            link_frames(frames, self.path(), ctx.config.video.frames)

    def commit(self) -> None:
        self.ctx.stats.files_written += self.clip.frame_stop - self.clip.frame_start


class Mp4Part(ClipPart):
    """Encode mode: the clip's own MP4, encoded on the x264 thread (remux mode cuts MP4s
    after the pass instead)."""

    kind = MP4
    wants_frames = True

    def __init__(self, ctx: SequenceContext, clip: Clip, num_events: int) -> None:
        super().__init__(ctx, clip, num_events)
        self._writer = Mp4ClipWriter(self.path(), *ctx.video_size, ctx.config.video)

    def feed_frame(self, frame: av.VideoFrame) -> None:
        self.pending.append(self.ctx.lanes.video.submit(self._add, frame))

    def close(self) -> None:
        self.pending.append(self.ctx.lanes.video.submit(self._commit))

    def commit(self) -> None:
        self.ctx.stats.frames_encoded += self._writer.frames
        self.count_file(self.path())

    def _add(self, frame: av.VideoFrame) -> None:
        with self.ctx.stats.timed("encode_mp4"):
            self._writer.add(frame)

    def _commit(self) -> None:
        with self.ctx.stats.timed("encode_mp4"):
            self._writer.commit()

    def abort(self) -> None:
        self._writer.abort()


PART_OF: dict[str, type[ClipPart]] = {
    part.kind.name: part for part in (NpyPart, ImagePart, FramesPart, Mp4Part)
}
