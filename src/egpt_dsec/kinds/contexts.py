"""What an output kind is given, and gives back, by the three frameworks that run it.

The streaming pass hands a kind's writers a :class:`UnitContext`; ``verify`` hands its
check a :class:`CheckTask` and takes back :class:`Problem`\\ s; ``plan`` hands its cost a
:class:`CostModel` and a :class:`Throughput`. The frameworks live above the kinds (they
iterate the registry), so what they pass down is declared here, as data or as protocols
their own classes satisfy.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.durations import Duration
from egpt_dsec.layout.output import KindFiles, OutputLayout
from egpt_dsec.render.rectify import RectifyTable
from egpt_dsec.state.manifest import ClipRecord
from egpt_dsec.state.plans import StoredPlan

R = TypeVar("R")

# --- the streaming pass -------------------------------------------------------------------


class Lane(Protocol):
    """A bounded queue of work on its own thread(s) (``execute.lanes.Lane``)."""

    def submit(self, fn: Callable[..., R], *args: Any, weight: int = 1) -> Future[R]: ...


class LaneSet(Protocol):
    """The lanes a clip's writers hand their slow work to."""

    @property
    def writes(self) -> Lane: ...  # one thread, in submission order: file writes

    @property
    def images(self) -> Lane: ...  # CPU threads: image compression

    @property
    def video(self) -> Lane: ...  # one thread, in order: x264

    @property
    def tensors(self) -> Lane: ...  # one thread, in order: event tensors


class Stats(Protocol):
    """The job's counters (``execute.report.JobStats``), updated from the pass's thread."""

    images_written: int
    frames_encoded: int

    def timed(self, stage: str) -> AbstractContextManager[None]: ...

    def file_written(self, kind: str, size: int) -> None: ...

    def files_linked(self, count: int) -> None: ...


class Frames(Protocol):
    """A sequence's frames in the view the clips get (``execute.frame_source``)."""

    @property
    def linked(self) -> list[Path]: ...  # the file each clip frame folder links to


@dataclass(frozen=True)
class UnitContext:
    """What every clip of one work unit shares; each kind also gets its own options."""

    split: str
    sequence: str
    layout: OutputLayout
    timestamps: NDArray[np.int64]
    frames: Frames
    video_size: tuple[int, int]  # (width, height) of MP4 frames
    stats: Stats
    lanes: LaneSet

    def clip_path(
        self, kind: KindFiles, duration: Duration, index: int, part: int | str = 0
    ) -> Path:
        return self.layout.clip_path(kind, self.split, duration, self.sequence, index, part)


# --- verify -------------------------------------------------------------------------------

TEMP = "temp"  # the report row of leftover temp files, wherever they are found


@dataclass(frozen=True)
class Problem:
    """One bad file (or record): where it is, which clip it belongs to, what is wrong.

    ``clip`` is -1 (and split/sequence/duration may be "") when no clip owns the path.
    """

    path: Path
    component: str
    split: str
    sequence: str
    duration: str
    clip: int
    what: str

    @property
    def clip_id(self) -> ClipId | None:
        if self.clip < 0 or not self.sequence:
            return None
        return (self.split, self.sequence, self.duration, self.clip)


ClipId = tuple[str, str, str, int]  # (split, sequence, duration label, clip index)


class WarpCheck(Protocol):
    """Event view: each kept frame compared once with its source frame warped afresh."""

    def problem(self, i: int) -> str | None: ...

    def first_report(self, i: int) -> bool: ...


class SourceView(Protocol):
    """The DSEC sequence behind a clip (``verify --dsec-root``)."""

    @property
    def frames(self) -> Frames: ...

    @property
    def rectify(self) -> RectifyTable | None: ...

    @property
    def warps(self) -> WarpCheck | None: ...

    @property
    def video_size(self) -> tuple[int, int]: ...

    @property
    def replanned(self) -> bool: ...  # its timestamps differ from those of the build


Listing = Mapping[str, frozenset[str]]  # kind -> names in its sequence folder


@dataclass(frozen=True)
class CheckTask:
    """One clip to check, with everything a worker thread needs to check it."""

    split: str
    sequence: str
    record: ClipRecord
    layout: OutputLayout
    listing: Listing
    plan: StoredPlan | None  # the plan the build stored for the sequence
    source: SourceView | None  # with --dsec-root
    event_view: bool = False  # the build warped its frames into the event view

    @property
    def duration(self) -> Duration:
        return Duration.parse(self.record.duration)

    @property
    def clip_id(self) -> ClipId:
        return (self.split, self.sequence, self.record.duration, self.record.clip)

    def path(self, kind: KindFiles, part: int | str = 0) -> Path:
        """The clip's file of ``kind`` (its folder, for frames)."""
        r = self.record
        return self.layout.clip_path(kind, self.split, self.duration, self.sequence, r.clip, part)

    def present(self, kind: KindFiles, path: Path) -> bool:
        """``path`` is in the listing of its kind's sequence folder."""
        return path.name in self.listing.get(kind.name, frozenset())

    def problem(self, component: str, path: Path, what: str) -> Problem:
        return Problem(path, component, *self.clip_id, what)


# --- plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostModel:
    """Bytes of the outputs whose size depends on content, measured by the probe."""

    png_points: tuple[tuple[int, int], ...]  # (events in an image, PNG bytes), increasing
    mp4_intra: float  # bytes of a keyframe at the video size
    mp4_inter: float  # bytes of any other frame
    frame_bytes: float  # bytes of a source frame PNG (for --frames copy)

    def png_bytes(self, events: int) -> float:
        """Interpolated in log(events) between the measured points, flat beyond them."""
        xs = [n for n, _ in self.png_points]
        ys = [b for _, b in self.png_points]
        if events <= xs[0]:
            return float(ys[0])
        if events >= xs[-1]:
            return float(ys[-1])
        i = bisect.bisect_right(xs, events)
        a, b = math.log(xs[i - 1]), math.log(xs[i])
        w = (math.log(events) - a) / (b - a)
        return ys[i - 1] + w * (ys[i] - ys[i - 1])


@dataclass(frozen=True)
class Throughput:
    """One-core costs on this machine (seconds per unit) and the output disk's speed."""

    read_event: float
    render_event: float
    png_image: float
    decode_frame: float  # a source frame PNG (warped too, in the event view)
    encode_frame: float  # an H.264 frame at the video size
    disk_bytes_per_s: float
    keep_frame: float = 0.0  # event view: a warped frame's PNG compression
    per_event: dict[str, float] = field(default_factory=dict)  # kind -> s per clip event


@dataclass
class Workload:
    """What a build processes, summed over its sequences: what CPU estimates scale with."""

    source_events: int = 0  # events of the sequences (read once)
    clip_events: int = 0  # events into clips (each copy counted)
    sequence_frames: int = 0  # frames of the sequences
    clip_frames: int = 0  # frames of the clips (each copy counted)
    kept_frames: int = 0  # event view: frames warped and kept once
    files: dict[str, int] = field(default_factory=dict)  # kind -> files
    bytes: dict[str, float] = field(default_factory=dict)  # kind -> bytes


@dataclass(frozen=True)
class Cost:
    """Files and bytes one clip (or sequence) adds to a kind's output."""

    files: int = 0
    bytes: float = 0.0
