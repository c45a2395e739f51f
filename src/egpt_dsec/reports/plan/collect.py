"""Read the metadata of every sequence a build would take, probe this machine, and
estimate the build: rows per split and duration, totals, space and time."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from egpt_dsec.config import EVENT_VIEW, BuildConfig
from egpt_dsec.durations import Duration
from egpt_dsec.kinds import CARD, JSON, KIND_NAMES, DatasetContext
from egpt_dsec.kinds.contexts import Cost, CostModel, Throughput, Workload
from egpt_dsec.kinds.dataset_json import planned_json
from egpt_dsec.kinds.label_qa import LABEL_QA, planned_labels
from egpt_dsec.kinds.video import kept_frames
from egpt_dsec.machine import available_cores
from egpt_dsec.pipeline.preflight import preflight
from egpt_dsec.plan.clips import Clip
from egpt_dsec.plan.sequence import SequencePlan
from egpt_dsec.render.warp import EVENT_VIEW_SIZE
from egpt_dsec.reports.plan.cost import Row, add_sequence
from egpt_dsec.reports.plan.probe import probe
from egpt_dsec.source.discover import SequenceSource
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.frames import frame_size
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.source.timestamps import list_frames, read_timestamps
from egpt_dsec.state.manifest import ClipKey, ClipRecord
from egpt_dsec.writers.video_frame import video_size

COUNT_READ_SHARE = 0.5  # --rectify-events counts kept events from x and y: half a read
# The dataset card's bytes: a fixed part, and a part per split and duration (its table row
# and Hugging Face config), fitted to the cards of small builds (3.2 kB with one row, 4.5 kB
# with eight).
CARD_BYTES = (2_990, 195)


@dataclass(frozen=True)
class SequenceFacts:
    """What the plan reads of one sequence: metadata only."""

    source: SequenceSource
    plan: SequencePlan
    events: dict[ClipKey, int]  # events per clip, from the millisecond index
    num_events: int
    frame_size: tuple[int, int]


@dataclass
class BuildEstimate:
    rows: list[Row]
    total: Row
    windows: int  # planned clip windows (exact), with events or not
    free_bytes: int | None  # at --out (or the folder it will be made in)
    cpu_seconds: float  # one core
    disk_seconds: float
    workers: int  # --workers
    cores: int  # the cores this process may use
    failures: list[str] = field(default_factory=list)  # sequences that cannot be read
    kinds: tuple[str, ...] = KIND_NAMES  # the kinds built, in registry order

    @property
    def bytes(self) -> float:
        return sum(self.total.bytes.values())

    @property
    def busy_cores(self) -> int:
        """Cores the build keeps busy: one per worker, no more than there are."""
        return max(1, min(self.workers, self.cores))

    @property
    def cpu_floor(self) -> float:
        return self.cpu_seconds / self.busy_cores

    @property
    def seconds(self) -> float:
        """The larger of the CPU floor (the busy cores all working) and the disk floor."""
        return max(self.cpu_floor, self.disk_seconds)

    @property
    def fits(self) -> bool:
        return self.free_bytes is None or self.bytes <= self.free_bytes


def read_facts(config: BuildConfig, source: SequenceSource) -> SequenceFacts:
    timestamps = read_timestamps(source.files.timestamps)
    plan = config.plan_sequence(timestamps)
    with EventFile(source.files.events_h5) as ev:
        bounds = np.array([t for c in plan.clips for t in (c.t0, c.t1)], dtype=np.int64)
        found = ev.approx_index_at(bounds).tolist() if len(bounds) else []
        num_events = ev.num_events
    events = {c.key: found[2 * i + 1] - found[2 * i] for i, c in enumerate(plan.clips)}
    size = frame_size(list_frames(source.files.frames_dir, len(timestamps))[0])
    return SequenceFacts(source, plan, events, num_events, size)


def estimate_build(
    config: BuildConfig,
    measured: tuple[CostModel, Throughput] | None = None,
    sources: list[SequenceSource] | None = None,
) -> BuildEstimate:
    """The estimate; a sequence that cannot be read is listed, never fatal. ``measured``
    replaces the probe (a metadata-only root, like the full-DSEC benchmark's). ``sources``
    are those a ``pipeline.preflight`` of ``config`` gave; without them it runs one (its
    checks all pass before the probe writes its test files)."""
    if sources is None:
        sources = preflight(config, foreign=False)
    facts, failures = [], []
    for source in sources:
        try:
            facts.append(read_facts(config, source))
        except InputError as exc:
            failures.append(f"{source.key}: {exc}")
    if not facts:
        raise InputError(config.dsec_root, "no readable sequence to plan", "; ".join(failures))
    by_size = sorted(facts, key=lambda f: -f.num_events)
    big = by_size[0]
    view_size = EVENT_VIEW_SIZE if config.frames_view == EVENT_VIEW else big.frame_size
    size = video_size(*view_size, config.mp4.size)
    model, speed = measured or probe(
        config, [f.source for f in by_size], len(big.plan.timestamps), size
    )
    rows: dict[tuple[str, str], Row] = {}
    for f in facts:
        add_sequence(rows, f.source.split, f.plan, f.events, config, model)
    _add_dataset_files(rows, facts, config)
    ordered = sorted(rows.values(), key=lambda r: (r.split, Duration.parse(r.duration)))
    if config.wants(CARD.name) and ordered:  # counted with the first row, as JSON files are
        ordered[0].add(CARD, Cost(1, CARD_BYTES[0] + CARD_BYTES[1] * len(ordered)))
    cpu, disk = _seconds(facts, ordered, config, speed)
    return BuildEstimate(
        ordered, _total(ordered), sum(len(f.plan.clips) for f in facts),
        free_space(config.out), cpu, disk, config.workers, available_cores(), failures,
        tuple(k.name for k in config.kinds),
    )  # fmt: skip


def _add_dataset_files(
    rows: dict[tuple[str, str], Row], facts: list[SequenceFacts], config: BuildConfig
) -> None:
    """The JSON and label files, rendered by their kinds' own writers from the planned
    clips (the labels read from the DSEC root)."""
    planners = [(k, f) for k, f in ((JSON, planned_json), (LABEL_QA, planned_labels))
                if config.wants(k.name)]  # fmt: skip
    if not planners:
        return
    kinds = tuple((k, config.options_of(k)) for k in config.kinds)
    records = {
        (f.source.split, f.source.name): {
            clip.key: planned_record(clip, f.events[clip.key], config) for clip in f.plan.clips
        }
        for f in facts
    }
    splits = sorted({f.source.split for f in facts})
    ctx = DatasetContext(config.output, config.dsec_root, config.camera, kinds, records, splits)
    for kind, planned in planners:
        for (split, label), cost in planned(ctx).items():
            rows.setdefault((split, label), Row(split, label)).add(kind, cost)


def planned_record(clip: Clip, events: int, config: BuildConfig) -> ClipRecord:
    """The manifest record a clip will get (for rendering its JSON entry ahead)."""
    components = tuple(sorted(k.name for k in config.kinds if not k.per_dataset))
    return ClipRecord(
        clip.duration.label, clip.index, clip.t0, clip.t1, events, clip.frame_start,
        clip.frame_stop, config.event_image.count_for(clip.duration), components, 0,
        clip.image_idx,
    )  # fmt: skip


def _seconds(
    facts: list[SequenceFacts], rows: list[Row], config: BuildConfig, speed: Throughput
) -> tuple[float, float]:
    """(one-core CPU seconds, disk seconds) of the build."""
    work = _workload(facts, rows, config)
    cpu = work.source_events * speed.read_event
    if config.rectify_events:  # the kept events are counted first, from x and y alone
        cpu += work.source_events * speed.read_event * COUNT_READ_SHARE
    cpu += sum(k.cpu_seconds(work, config.options_of(k), speed) for k in config.kinds)
    written = sum(sum(r.bytes.values()) for r in rows)
    return cpu, written / speed.disk_bytes_per_s


def _workload(facts: list[SequenceFacts], rows: list[Row], config: BuildConfig) -> Workload:
    work = Workload(
        source_events=sum(f.num_events for f in facts),
        clip_events=sum(r.events for r in rows),
        sequence_frames=sum(len(f.plan.timestamps) for f in facts),
        clip_frames=sum(
            c.frame_stop - c.frame_start for f in facts for c in f.plan.clips if f.events[c.key]
        ),
    )
    if config.frames_view == EVENT_VIEW:
        work.kept_frames = sum(
            kept_frames([(c, f.events[c.key]) for c in f.plan.clips]) for f in facts
        )
    for kind in KIND_NAMES:
        work.files[kind] = sum(r.files[kind] for r in rows)
        work.bytes[kind] = sum(r.bytes[kind] for r in rows)
    return work


def _total(rows: list[Row]) -> Row:
    total = Row("all", "")
    for row in rows:
        total.clips += row.clips
        total.empty += row.empty
        total.events += row.events
        for kind in KIND_NAMES:
            total.files[kind] += row.files[kind]
            total.bytes[kind] += row.bytes[kind]
    return total


def free_space(out: Path) -> int | None:
    """Free bytes where ``out`` is (or will be created)."""
    folder = next((p for p in (out, *out.parents) if p.is_dir()), None)
    return shutil.disk_usage(folder).free if folder is not None else None


def remaining_bytes(estimate: BuildEstimate, out: Path) -> float:
    """What is left to write: the estimate less the share of clips already recorded."""
    from egpt_dsec.layout.state import StateLayout
    from egpt_dsec.state.manifest import Manifest

    done = sum(len(clips) for clips in Manifest(StateLayout(out)).all_records().values())
    return estimate.bytes * max(0.0, 1.0 - done / max(estimate.windows, 1))
