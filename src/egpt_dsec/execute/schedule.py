"""A pass laid out before it runs: the blocks between clip boundaries, each with the
clips it opens and closes, the event reads and the frames it needs.

Knowing every read and frame up front is what lets the job read events and decode
frames ahead of the pass, in the very order the pass consumes them. Pure: no I/O.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.plan.clips import Clip


@dataclass(frozen=True)
class Block:
    """``[t0, t1)`` between two consecutive clip boundaries."""

    t0: int
    t1: int
    opening: tuple[Clip, ...]  # clips to do that start at t0
    closing: tuple[Clip, ...]  # clips to do that end at t1
    reads: tuple[tuple[int, int], ...]  # event index ranges [start, stop), in order
    frames: range  # indices of the frames with t0 <= t < t1, if any clip wants them


@dataclass(frozen=True)
class Wants:
    """What the open clips consume: events, frames, or every frame (a sequence encode
    fed by the pass)."""

    events: Callable[[Clip], bool]
    frames: Callable[[Clip], bool]
    every_frame: bool = False
    # Frames at a block's end belong to it (per-frame windows in front of their frame,
    # which end where their frame is); otherwise frames at its start do.
    frames_at_end: bool = False


def plan_blocks(
    index: dict[int, int],
    todo: Sequence[Clip],
    timestamps: NDArray[np.int64],
    wants: Wants,
    chunk: int,
) -> list[Block]:
    """The blocks between the sorted keys of ``index`` (boundary time -> first event index).

    Events of a block are read in chunks of at most ``chunk`` events, and only while an
    open clip wants them; frames likewise (or always, with ``every_frame``).
    """
    opening: dict[int, list[Clip]] = defaultdict(list)
    closing: dict[int, list[Clip]] = defaultdict(list)
    for clip in todo:
        opening[clip.t0].append(clip)
        closing[clip.t1].append(clip)
    edges = sorted(index)
    at = np.array(edges, np.int64)
    frame_at = (
        np.searchsorted(timestamps, at, side="right")
        if wants.frames_at_end
        else np.searchsorted(timestamps, at, side="left")
    ).tolist()
    open_clips: dict[tuple[str, int], Clip] = {}
    blocks = []
    for (b0, f0), (b1, f1) in itertools.pairwise(zip(edges, frame_at, strict=True)):
        for clip in opening.get(b0, []):
            open_clips[clip.key] = clip
        live = open_clips.values()
        reads: tuple[tuple[int, int], ...] = ()
        if any(wants.events(c) for c in live):
            lo, hi = index[b0], index[b1]
            reads = tuple((s, min(s + chunk, hi)) for s in range(lo, hi, chunk))
        watched = wants.every_frame or any(wants.frames(c) for c in live)
        frames = range(f0, f1) if watched else range(0)
        ends = tuple(closing.get(b1, []))
        blocks.append(Block(b0, b1, tuple(opening.get(b0, [])), ends, reads, frames))
        for clip in ends:
            del open_clips[clip.key]
    return blocks
