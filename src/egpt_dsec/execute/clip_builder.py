"""One clip being built while its sequence streams past: events in, frames in, files out."""

from __future__ import annotations

from typing import Any

import av

from egpt_dsec.events import Events
from egpt_dsec.execute.context import SequenceContext
from egpt_dsec.execute.lanes import wait_all
from egpt_dsec.fs import remove_path
from egpt_dsec.kinds import ClipPart, Kind
from egpt_dsec.plan.clips import Clip
from egpt_dsec.state.manifest import ClipRecord

PartKind = tuple[Kind, Any, type[ClipPart]]  # a kind, its options, its per-clip writer


def part_kinds(
    ctx: SequenceContext, clip: Clip, needs: set[str], num_events: int
) -> list[PartKind]:
    """The kinds a clip writes files of with per-clip writers, in registry order.

    An empty window writes no files, and a kind may write none for a clip (no frame
    folder for a window without frames, no MP4 for too few frames).
    """
    if not num_events:
        return []
    frames = clip.frame_stop - clip.frame_start
    found = []
    for kind, options in ctx.kinds:
        part = kind.part_type(options) if kind.name in needs else None
        if part is not None and kind.writes_for(frames, options):
            found.append((kind, options, part))
    return found


def wants_events(ctx: SequenceContext, clip: Clip, needs: set[str], num_events: int) -> bool:
    return any(part.wants_events for _, _, part in part_kinds(ctx, clip, needs, num_events))


def wants_frames(ctx: SequenceContext, clip: Clip, needs: set[str], num_events: int) -> bool:
    return any(part.wants_frames for _, _, part in part_kinds(ctx, clip, needs, num_events))


class ClipBuilder:
    """Writes the kinds ``needs`` of one clip; events and frames arrive in time order.

    Kinds written per work unit (remux MP4) are never in ``needs``: the job writes them
    after the pass.
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
            part(kind, ctx.unit, clip, self.num_events, options)
            for kind, options, part in part_kinds(ctx, clip, needs, self.num_events)
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
        wanted = {kind.name for kind, _ in self.ctx.kinds}
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
            parts=self.ctx.config.event_image.count_for(c.duration),
            components=tuple(sorted(set(built) | set(done_before))),
            event_start=self.source[0],
            image_idx=c.image_idx,
            dropped=self.source[1] - self.source[0] - self.num_events,
        )

    def abort(self, finished: bool = False) -> None:
        """Drop unfinished files, and with ``finished`` the files already in place (the
        clip has no record); only once the lanes have stopped."""
        for part in self._parts:
            part.abort()
            for path in part.finished_files() if finished else []:
                remove_path(path)
