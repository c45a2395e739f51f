"""One clip being built while its sequence streams past: events in, frames in, files out."""

from __future__ import annotations

import av

from egpt_dsec.events import Events
from egpt_dsec.execute.clip_parts import PART_OF, ClipPart
from egpt_dsec.execute.context import SequenceContext
from egpt_dsec.execute.lanes import wait_all
from egpt_dsec.kinds import EVENT_NPY, FILE_KIND_NAMES
from egpt_dsec.plan.clips import Clip
from egpt_dsec.state.manifest import ClipRecord


def part_kinds(ctx: SequenceContext, needs: set[str], num_events: int) -> list[str]:
    """The kinds a clip writes files of, in the order of ``FILE_KIND_NAMES``.

    An empty window writes no files, and in ``--event-format ref`` the events stay in
    the source (no npy part).
    """
    if not num_events:
        return []
    events_stay = ctx.config.event_format == "ref"
    return [
        kind
        for kind in FILE_KIND_NAMES
        if kind in needs and not (kind == EVENT_NPY.name and events_stay)
    ]


def wants_events(ctx: SequenceContext, needs: set[str], num_events: int) -> bool:
    return any(PART_OF[kind].wants_events for kind in part_kinds(ctx, needs, num_events))


def wants_frames(ctx: SequenceContext, needs: set[str], num_events: int) -> bool:
    return any(PART_OF[kind].wants_frames for kind in part_kinds(ctx, needs, num_events))


class ClipBuilder:
    """Writes the kinds ``needs`` of one clip; events and frames arrive in time order.

    In remux mode ``needs`` never holds ``mp4``: those MP4s are cut after the
    sequence encode, by the job.
    """

    def __init__(
        self,
        ctx: SequenceContext,
        clip: Clip,
        stream: tuple[int, int],
        source: tuple[int, int],
        needs: set[str],
    ) -> None:
        """``stream``: the clip's events in the pass's event stream (``execute.event_stream``);
        ``source``: its index range in events.h5 (the same unless rectified)."""
        self.ctx, self.clip = ctx, clip
        self.event_start, self.num_events = stream[0], stream[1] - stream[0]
        self.source = source
        self.needs = needs if self.num_events else set()
        self._parts: list[ClipPart] = [
            PART_OF[kind](ctx, clip, self.num_events)
            for kind in part_kinds(ctx, needs, self.num_events)
        ]
        self.wants_events = any(p.wants_events for p in self._parts)
        self.wants_frames = any(p.wants_frames for p in self._parts)

    def feed_events(self, start: int, events: Events) -> None:
        """Events whose first one is at ``start`` in the stream; all inside the clip."""
        for part in self._parts:
            part.feed_events(start - self.event_start, events)

    def feed_frame(self, frame: av.VideoFrame) -> None:
        for part in self._parts:
            part.feed_frame(frame)

    def close(self) -> None:
        """The clip's window has ended: every part hands over its last work."""
        for part in self._parts:
            part.close()

    @property
    def ready(self) -> bool:
        """Every file of the clip is in place (or a task failed: ``commit`` raises)."""
        return all(f.done() for part in self._parts for f in part.pending)

    def commit(self, done_before: tuple[str, ...]) -> ClipRecord:
        """Wait for the clip's files and return the manifest record."""
        for part in self._parts:
            wait_all(part.pending)
        for part in self._parts:
            part.commit()
        wanted = set(FILE_KIND_NAMES) & set(self.ctx.config.components)
        built = self.needs if self.num_events else wanted  # nothing to write counts as done
        c = self.clip
        return ClipRecord(
            duration=c.duration.label,
            clip=c.index,
            t0=c.t0,
            t1=c.t1,
            num_events=self.num_events,
            frame_start=c.frame_start,
            frame_stop=c.frame_stop,
            parts=self.ctx.config.images.count_for(c.duration),
            components=tuple(sorted(set(built) | set(done_before))),
            event_start=self.source[0],
            image_idx=c.image_idx,
            dropped=self.source[1] - self.source[0] - self.num_events,
        )

    def abort(self) -> None:
        """Drop unfinished files; only once the lanes have stopped."""
        for part in self._parts:
            part.abort()
