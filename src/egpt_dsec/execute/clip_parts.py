"""One kind's output of one clip, fed while the sequence streams past.

Each file kind has one part class here, looked up in ``PART_OF`` by kind: the clip
builder holds the parts a clip needs and feeds them events and frames in time order.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray

from egpt_dsec.events import Events
from egpt_dsec.execute.context import SequenceContext
from egpt_dsec.kinds import EVENT_IMAGE, EVENT_NPY, MP4, VIDEO, OutputKind
from egpt_dsec.plan.clips import Clip
from egpt_dsec.render.event_image import PartPainter
from egpt_dsec.writers.event_image import save_png
from egpt_dsec.writers.event_npy import ClipMetadata, EventNpyWriter
from egpt_dsec.writers.frames import link_frames
from egpt_dsec.writers.mp4 import Mp4ClipWriter


class ClipPart:
    """One kind's files of one clip: fed events and frames in time order, then finished.
    What every part shares: its clip, the job context, and file accounting."""

    wants_events = False
    wants_frames = False
    kind: OutputKind

    def __init__(self, ctx: SequenceContext, clip: Clip, num_events: int) -> None:
        self.ctx, self.clip, self.num_events = ctx, clip, num_events

    def path(self, part: int = 0) -> Path:
        c = self.clip
        return self.ctx.layout.clip_path(
            self.kind, self.ctx.split, c.duration, self.ctx.sequence, c.index, part
        )

    def feed_events(self, offset: int, events: Events) -> None:
        """Events at positions [offset, offset + len) of the clip, in order."""

    def feed_frame(self, frame: av.VideoFrame) -> None:
        """The clip's next frame, converted once for every encoder."""

    def finish(self) -> None:
        """Put every file in place (atomically); each kind's part does its own."""
        raise NotImplementedError

    def abort(self) -> None:
        """Drop unfinished temp files (files already renamed are complete and stay)."""

    def count_file(self, path: Path) -> None:
        self.ctx.stats.files_written += 1
        self.ctx.stats.add_bytes(self.kind.name, path.stat().st_size)


class NpyPart(ClipPart):
    kind = EVENT_NPY
    wants_events = True

    def __init__(self, ctx: SequenceContext, clip: Clip, num_events: int) -> None:
        super().__init__(ctx, clip, num_events)
        self._writer = EventNpyWriter(self.path(), ClipMetadata.of(clip, num_events))

    def feed_events(self, offset: int, events: Events) -> None:
        with self.ctx.stats.timed("write_npy"):
            self._writer.write(offset, events)

    def finish(self) -> None:
        with self.ctx.stats.timed("write_npy"):
            self._writer.commit()
        self.count_file(self.path())

    def abort(self) -> None:
        self._writer.abort()


class ImagePart(ClipPart):
    """EventGPT's N images, split by event count; one canvas alive at a time."""

    kind = EVENT_IMAGE
    wants_events = True

    def __init__(self, ctx: SequenceContext, clip: Clip, num_events: int) -> None:
        super().__init__(ctx, clip, num_events)
        images = ctx.config.images
        self._painter = PartPainter(num_events, images.count_for(clip.duration), images.style)

    def feed_events(self, offset: int, events: Events) -> None:
        with self.ctx.stats.timed("render"):
            done = self._painter.feed_events(events)
        self._save(done)

    def finish(self) -> None:
        self._save(self._painter.finish())

    def _save(self, done: list[tuple[int, NDArray[np.uint8]]]) -> None:
        for part, pixels in done:
            path = self.path(part)
            with self.ctx.stats.timed("write_png"):
                save_png(path, pixels, self.ctx.config.images.compress_level)
            self.ctx.stats.images_written += 1
            self.count_file(path)


class FramesPart(ClipPart):
    """The clip's frame folder: links to the source PNGs, made when the clip ends."""

    kind = VIDEO

    def finish(self) -> None:
        c, ctx = self.clip, self.ctx
        with ctx.stats.timed("link_frames"):
            link_frames(
                ctx.frame_paths[c.frame_start : c.frame_stop], self.path(), ctx.config.video.frames
            )
        ctx.stats.files_written += c.frame_stop - c.frame_start


class Mp4Part(ClipPart):
    """Encode mode: the clip's own MP4 (remux mode cuts MP4s after the pass instead)."""

    kind = MP4
    wants_frames = True

    def __init__(self, ctx: SequenceContext, clip: Clip, num_events: int) -> None:
        super().__init__(ctx, clip, num_events)
        self._writer = Mp4ClipWriter(self.path(), *ctx.video_size, ctx.config.video)

    def feed_frame(self, frame: av.VideoFrame) -> None:
        with self.ctx.stats.timed("encode_mp4"):
            self._writer.add(frame)

    def finish(self) -> None:
        with self.ctx.stats.timed("encode_mp4"):
            self.ctx.stats.frames_encoded += self._writer.commit()
        self.count_file(self.path())

    def abort(self) -> None:
        self._writer.abort()


PART_OF: dict[str, type[ClipPart]] = {
    part.kind.name: part for part in (NpyPart, ImagePart, FramesPart, Mp4Part)
}
