"""An output kind: everything about one kind of output, declared in its own module.

A kind names its folder and per-clip files, owns its options (a group of ``config``'s
option fields, ``BuildConfig.<kind name>``), says which shared options change its bytes,
and implements the hooks the frameworks call: writers for the streaming pass (per clip,
or per work unit), its fields of a JSON entry, its share of the plan's cost, its
``verify`` check and what a stopped build leaves of it. Every hook has a default that
does nothing, so a kind implements only what it writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import av

from egpt_dsec.durations import Duration
from egpt_dsec.events import Events
from egpt_dsec.kinds.contexts import (
    CheckTask,
    Cost,
    CostModel,
    Problem,
    SourceView,
    Throughput,
    UnitContext,
    Workload,
)
from egpt_dsec.layout.output import OutputLayout, clip_rel
from egpt_dsec.options import declared
from egpt_dsec.plan.clips import Clip
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.state.manifest import ClipKey, ClipRecord

# Options that place the clip windows or name the folders: every kind's bytes depend on them.
WINDOWS = ("overlap", "windows", "sync", "camera", "layout")


@dataclass(frozen=True)
class ClipEntry:
    """A finished, non-empty clip as the JSON files describe it."""

    split: str
    sequence: str
    record: ClipRecord
    events_file: str = ""  # the sequence's events.h5, relative to the DSEC root


Records = dict[tuple[str, str], dict[ClipKey, ClipRecord]]  # (split, sequence) -> records


@dataclass(frozen=True)
class DatasetContext:
    """What the kinds written once per dataset (the JSON files, the card) read: the
    finished clips, and every kind the output holds with the options it was built with."""

    layout: OutputLayout
    dsec_root: Path
    camera: str
    kinds: tuple[tuple[Kind, Any], ...]  # registry order
    records: Records
    splits: list[str]
    options: dict[str, Any] = field(default_factory=dict)  # the data's options, JSON-ready
    command: str = ""  # the command that builds it, with DSEC and OUT for the paths
    # The DSEC root is ``egpt-dsec synth``'s test data (its marker), not DSEC; then
    # ``synth_commands`` are the synth commands that made it, when known.
    synthetic: bool = False
    synth_commands: tuple[str, ...] = ()

    def options_of(self, kind: Kind) -> Any:
        return next((options for k, options in self.kinds if k.name == kind.name), None)


@dataclass(frozen=True)
class FollowUp:
    """Turns a kind appends to a clip's EventGPT conversation, after the answer, and their
    metadata (one dict per question and answer) under the entry key ``meta_key``."""

    turns: tuple[dict[str, str], ...]
    meta_key: str
    meta: tuple[dict[str, Any], ...]


# How an entry spells a clip's file: (entry, kind, path in the kind's folder) -> path.
Place = Callable[[ClipEntry, "Kind", str], str]


class ClipPart:
    """One kind's files of one clip, fed events and frames in time order, then closed and
    committed. A part hands its slow work to the unit's lanes and keeps the futures:
    once every one is done the pass ``commit``\\ s it, in the pass's thread."""

    wants_events = False
    wants_frames = False

    def __init__(
        self, kind: Kind, ctx: UnitContext, clip: Clip, num_events: int, options: Any
    ) -> None:
        self.kind, self.ctx, self.clip, self.num_events = kind, ctx, clip, num_events
        self.options = options
        self.pending: list[Future[Any]] = []

    def path(self, part: int | str = 0) -> Path:
        return self.ctx.clip_path(self.kind, self.clip.duration, self.clip.index, part)

    def feed_events(self, offset: int, events: Events) -> None:
        """Events at positions [offset, offset + len) of the clip, in order."""

    def feed_frame(self, frame: av.VideoFrame) -> None:
        """The clip's next frame, converted once for every encoder."""

    def close(self) -> None:
        """The clip has ended: hand over the last work."""

    def commit(self) -> None:
        """Account for the files, once ``pending`` is done."""
        self.count_file(self.path())

    def abort(self) -> None:
        """Drop unfinished temp files; called once the lanes have stopped."""

    def finished_files(self) -> list[Path]:
        """The clip's files this part puts in place (removed if the pass stops before the
        clip's record is written: no record, no file)."""
        return [self.path()]

    def count_file(self, path: Path) -> None:
        self.ctx.stats.file_written(self.kind.name, path.stat().st_size)


class UnitWriter(Protocol):
    """A kind written once per work unit: fed every frame of the unit in order (on the
    x264 lane, or by the pass with one core), then cut into each clip's file."""

    @property
    def frames(self) -> range: ...  # the unit's frames it takes, in order

    def add(self, frame: av.VideoFrame) -> None: ...

    def finish(self, records: dict[ClipKey, ClipRecord]) -> list[ClipRecord]:
        """Write the clips' files; the records to append (the kind marked done)."""
        ...

    def abort(self) -> None: ...


Found = list[Problem] | tuple[list[Problem], Any]  # a check may also keep a fact for later


@dataclass(frozen=True)
class Kind:
    """One output kind. Subclasses override the hooks of what they write."""

    name: str  # the component name and the kind's folder under a duration folder
    template: str = ""  # one clip's file inside the kind's folder ("" if none per clip)
    entry_key: str = ""  # the EventGPT entry key naming the clip's file(s)
    depends_on: tuple[str, ...] = WINDOWS  # shared options that change its bytes
    options_type: type | None = None  # its options group, the field ``BuildConfig.<name>``
    title: str = ""  # what it is, in a few words: the title of its options in ``build -h``
    checked_by: str = ""  # what verify checks, in words (help and docs)
    default: bool = True  # in the default --components
    per_dataset: bool = False  # written whole by every build (the JSON files, the card)

    # --- declarations -----------------------------------------------------------------------

    @property
    def per_clip(self) -> bool:
        """It writes files per clip (those are listed, checked and counted per clip)."""
        return bool(self.template)

    @property
    def clip_folders(self) -> bool:
        """Each clip's output is a folder (of frames), not a file."""
        return self.per_clip and "." not in self.template.rsplit("/", 1)[-1]

    @property
    def option_names(self) -> tuple[str, ...]:
        """Dotted names of every option its bytes depend on (the options record's keys)."""
        own = () if self.options_type is None else declared(self.options_type, f"{self.name}.")
        return (*self.depends_on, *(d.name for d in own))

    def options_of(self, config: Any) -> Any:
        """Its options group of a ``BuildConfig`` (None if it has none)."""
        return None if self.options_type is None else getattr(config, self.name)

    # --- the streaming pass ---------------------------------------------------------------

    def part_type(self, options: Any) -> type[ClipPart] | None:
        """The per-clip writer, if this kind is written clip by clip with these options."""
        return None

    def unit_writer(
        self, ctx: UnitContext, clips: tuple[Clip, ...], options: Any, scratch: Path
    ) -> UnitWriter | None:
        """The per-unit writer, if written once per work unit with these options."""
        return None

    def writes_for(self, frames: int, options: Any) -> bool:
        """Whether a clip with events and ``frames`` frames gets this kind's file(s)."""
        return self.per_clip

    def writes(self, record: ClipRecord, options: Any) -> bool:
        """Whether a finished clip has this kind's file(s)."""
        return not record.empty and self.writes_for(record.frame_stop - record.frame_start, options)

    def has_files(self, record: ClipRecord, options: Any) -> bool:
        """The clip's record says this kind is done, and done means files for this clip."""
        return self.name in record.components and self.writes(record, options)

    # --- JSON entries ---------------------------------------------------------------------

    def entry_fields(self, entry: ClipEntry, place: Place, options: Any) -> dict[str, Any]:
        """Its keys of the clip's EventGPT entry."""
        if not self.entry_key or not self.writes(entry.record, options):
            return {}
        r = entry.record
        return {self.entry_key: place(entry, self, self.clip_rel(entry.sequence, r.clip))}

    def clip_rel(self, sequence: str, index: int, part: int | str = 0) -> str:
        return clip_rel(self, sequence, index, part)

    def follow_ups(
        self, ctx: DatasetContext, entries: list[ClipEntry], options: Any
    ) -> dict[str, FollowUp]:
        """Turns to append to these clips' EventGPT conversations after the answer (entry
        id -> turns); the JSON kind asks every kind the output holds."""
        return {}

    # --- plan -----------------------------------------------------------------------------

    def clip_cost(self, clip: Clip, events: int, options: Any, model: CostModel) -> Cost:
        """Files and bytes of one clip with ``events`` events."""
        return Cost()

    def sequence_cost(
        self, clips: list[tuple[Clip, int]], options: Any, model: CostModel, event_view: bool
    ) -> Cost:
        """Files and bytes written once per sequence (beside its clips)."""
        return Cost()

    def cpu_seconds(self, work: Workload, options: Any, speed: Throughput) -> float:
        """One-core seconds of its stages for the whole build."""
        return 0.0

    def probe(self, sample: Events, options: Any) -> dict[str, float]:
        """Seconds of its own work measured on real events (``Throughput.per_event``
        keys: its name for a clip event, and any of its own)."""
        return {}

    # --- verify ---------------------------------------------------------------------------

    def check(self, task: CheckTask, options: Any, events: EventFile | None) -> Found:
        """Problems of the clip's files (it has events and this kind's files)."""
        return []

    def check_together(
        self,
        facts: list[Any],
        sources: Mapping[tuple[str, str], SourceView],
        options: Any,
        event_view: bool,
    ) -> list[Problem]:
        """Problems only seen across clips (per sequence), from the facts ``check`` kept."""
        return []

    def file_count(self, record: ClipRecord, options: Any) -> int:
        """Files a clip with this kind's files has (what verify counts as checked)."""
        return 1

    def files_of(self, task: CheckTask) -> list[Path]:
        """The clip's files of this kind found in its folder (any that exist)."""
        path = task.path(self)
        return [path] if self.per_clip and task.present(self, path) else []

    # --- what a stopped build leaves ------------------------------------------------------

    def sequence_folders(
        self, layout: OutputLayout, split: str, durations: tuple[Duration, ...], sequence: str
    ) -> list[Path]:
        """Folders where its unfinished files of a sequence may lie (temps swept there)."""
        if not self.per_clip:
            return []
        return [layout.sequence_dir(split, d, self, sequence) for d in durations]

    def obsolete(
        self, layout: OutputLayout, split: str, sequence: str, options: Any, event_view: bool
    ) -> list[Path]:
        """Files or folders a rebuild with these options no longer uses (removed)."""
        return []

    # --- written once per dataset ---------------------------------------------------------

    def publish(self, ctx: DatasetContext) -> list[Path]:
        """Write the kind's files from the finished clips; the paths written."""
        return []
