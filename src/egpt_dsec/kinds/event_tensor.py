"""``event_tensor``: the dense tensors other event models read, per clip (``--tensors``).

Voxel grids (Zhu et al., DSEC), RVT's stacked histograms, equal-time and equal-count
event frames, time surfaces: each a plain ``.npy`` per clip and spec, accumulated while
the clip's events stream by and written bin by bin as the stream passes each bin, so a
clip holds a couple of bins in memory whatever its length (``render.tensors``; exact
definitions in docs/tensors.md). ``verify`` reads each file's header and, with the DSEC
root, recomputes every bin from the source events.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from egpt_dsec.events import Events
from egpt_dsec.kinds.base import WINDOWS, ClipEntry, ClipPart, Found, Kind, Place
from egpt_dsec.kinds.contexts import CheckTask, Cost, CostModel, Throughput, UnitContext, Workload
from egpt_dsec.layout.output import clip_name
from egpt_dsec.options import option
from egpt_dsec.plan.clips import Clip
from egpt_dsec.render.rectify import rectify_run
from egpt_dsec.render.tensor_spec import TensorSpec, parse_tensor_specs
from egpt_dsec.render.tensors import TensorAccumulator, tensor_file_size
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.state.manifest import ClipRecord
from egpt_dsec.writers.event_tensor import SHAPE, TensorFileWriter

CHECK_CHUNK = 4_000_000  # source events per step when recomputing a clip's tensors


def _specs_text(specs: tuple[TensorSpec, ...]) -> str:
    return ",".join(spec.text for spec in specs) or "none"


@dataclass(frozen=True)
class TensorOptions:
    specs: tuple[TensorSpec, ...] = option(
        (),
        flag="--tensors",
        help="event tensors per clip, NAME:BINS[:PARAM] of voxel, histogram, frames, "
        "countframes, timesurface (docs/tensors.md)",
        example="voxel:5,histogram:10",
        parse=parse_tensor_specs,
        show=_specs_text,
        metavar="SPECS",
    )


class TensorPart(ClipPart):
    """One accumulator and one file per spec, fed on the tensor lane (one thread: a clip's
    chunks in order) beside the pass; each finished bin goes to the write lane at once,
    so a chunk that passes many bins holds one of them in memory."""

    wants_events = True

    def __init__(
        self, kind: Kind, ctx: UnitContext, clip: Clip, num_events: int, options: Any
    ) -> None:
        super().__init__(kind, ctx, clip, num_events, options)
        self._tensors = []
        for spec in options.specs:
            writer = TensorFileWriter(self.path(spec.label), spec)
            self._tensors.append((TensorAccumulator(spec, clip.t0, clip.t1, num_events), writer))
        self._writes: list[Future[None]] = []  # bins handed to the write lane (tensor thread)

    def feed_events(self, offset: int, events: Events) -> None:
        self.pending.append(self.ctx.lanes.tensors.submit(self._accumulate, offset, events))

    def close(self) -> None:
        self.pending.append(self.ctx.lanes.tensors.submit(self._finish))

    def _accumulate(self, offset: int, events: Events) -> None:
        for accumulator, writer in self._tensors:
            self._write_all(writer, accumulator.feed_iter(offset, events))

    def _finish(self) -> None:
        """The last bins; once every bin is on disk, each file goes into place."""
        for accumulator, writer in self._tensors:
            self._write_all(writer, accumulator.finish_iter())
        for written in self._writes:
            written.result()  # a failed write raises here
        for _, writer in self._tensors:
            writer.commit()

    def _write_all(self, writer: TensorFileWriter, bins: Iterator[tuple[int, Any]]) -> None:
        while True:
            with self.ctx.stats.timed("tensors"):
                found = next(bins, None)
            if found is None:
                return
            index, values = found
            lane = self.ctx.lanes.writes
            self._writes.append(lane.submit(writer.write_bin, index, values, weight=values.nbytes))

    def commit(self) -> None:
        for spec in self.options.specs:
            self.count_file(self.path(spec.label))

    def abort(self) -> None:
        for _, writer in self._tensors:
            writer.abort()

    def finished_files(self) -> list[Path]:
        return [self.path(spec.label) for spec in self.options.specs]


class EventTensorKind(Kind):
    def part_type(self, options: Any) -> type[ClipPart] | None:
        return TensorPart if options.specs else None

    def entry_fields(self, entry: ClipEntry, place: Place, options: Any) -> dict[str, Any]:
        r = entry.record
        return {
            self.entry_key: {
                spec.text: place(entry, self, self.clip_rel(entry.sequence, r.clip, spec.label))
                for spec in options.specs
            }
        }

    def clip_cost(self, clip: Clip, events: int, options: Any, model: CostModel) -> Cost:
        return Cost(len(options.specs), sum(tensor_file_size(s, *SHAPE) for s in options.specs))

    def cpu_seconds(self, work: Workload, options: Any, speed: Throughput) -> float:
        clips = work.files.get(self.name, 0) / max(len(options.specs), 1)
        bins = clips * sum(spec.bins for spec in options.specs)
        per_event = speed.per_event.get(self.name, 0.0)
        per_bin = speed.per_event.get(f"{self.name}.bin", 0.0)
        return (
            work.clip_events * per_event
            + bins * per_bin
            + work.bytes.get(self.name, 0.0) / (speed.disk_bytes_per_s)
        )

    def probe(self, sample: Events, options: Any) -> dict[str, float]:
        """Seconds per clip event and per bin, on real events (after a first run that
        compiles the kernels): bins are timed on an empty window, events on the sample."""
        if not options.specs or not len(sample):
            return {}
        t0, t1 = int(sample.t[0]), max(int(sample.t[-1]) + 1, int(sample.t[0]) + 1)
        _run_all(options.specs, sample.slice(0, min(len(sample), 1000)), t0, t1)  # compile
        empty, bins = _run_all(options.specs, Events.empty(), t0, t1)
        busy, _ = _run_all(options.specs, sample, t0, t1)
        per_bin = empty / bins
        return {self.name: max(busy - empty, 0.0) / len(sample), f"{self.name}.bin": per_bin}

    def file_count(self, record: ClipRecord, options: Any) -> int:
        return len(options.specs)

    def files_of(self, task: CheckTask) -> list[Path]:
        folder, prefix = task.path(self, "x").parent, f"{clip_name(task.record.clip)}_"
        listing = task.listing.get(self.name, frozenset())
        return [folder / name for name in sorted(listing) if name.startswith(prefix)]

    def check(self, task: CheckTask, options: Any, events: EventFile | None) -> Found:
        problems = []
        wanted = {task.path(self, spec.label): spec for spec in options.specs}
        for path in self.files_of(task):
            if path not in wanted:
                problems.append(task.problem(self.name, path, "not a tensor of this build"))
        for path, spec in wanted.items():
            what = _file_problem(path, spec) if task.present(self, path) else "missing"
            if what is None and events is not None and task.source is not None:
                what = _source_problem(path, spec, task, events)
            if what:
                problems.append(task.problem(self.name, path, what))
        return problems


EVENT_TENSOR = EventTensorKind(
    "event_tensor",
    template="{sequence}/{clip}_{part}.npy",
    entry_key="event_tensor",
    depends_on=(*WINDOWS, "rectify_events"),
    options_type=TensorOptions,
    title="the clip's event tensors, .npy",
    checked_by="each spec's .npy loads without pickle with its shape and dtype; with "
    "--dsec-root every bin equals the one recomputed from the source events",
    default=False,
)


def _run_all(specs: tuple[TensorSpec, ...], events: Events, t0: int, t1: int) -> tuple[float, int]:
    """Seconds to accumulate ``events`` over [t0, t1) into every spec, and the bins made."""
    started, bins = time.perf_counter(), 0
    for spec in specs:
        accumulator = TensorAccumulator(spec, t0, t1, len(events))
        bins += sum(1 for _ in accumulator.feed_iter(0, events))
        bins += sum(1 for _ in accumulator.finish_iter())
    return time.perf_counter() - started, bins


def _file_problem(path: Path, spec: TensorSpec) -> str | None:
    try:
        values = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        return f"cannot be loaded as a plain .npy ({exc})"
    want = spec.shape(*SHAPE)
    if values.shape != want or values.dtype != spec.dtype:
        return f"{values.dtype} {values.shape}, expected {spec.dtype} {want}"
    return None


def _source_problem(path: Path, spec: TensorSpec, task: CheckTask, events: EventFile) -> str | None:
    """Every bin recomputed from the source window (rectified, if the build did)."""
    assert task.source is not None
    r, table = task.record, task.source.rectify
    stored = np.load(path, mmap_mode="r", allow_pickle=False)
    accumulator, at = TensorAccumulator(spec, r.t0, r.t1, r.num_events), 0
    try:
        for a in range(0, r.source_events, CHECK_CHUNK):
            chunk = events.read(
                r.event_start + a, r.event_start + min(a + CHECK_CHUNK, r.source_events)
            )
            if table is not None:
                chunk, _ = rectify_run(chunk, table)
            for index, values in accumulator.feed_iter(at, chunk):
                if not np.array_equal(stored[index], values):
                    return f"bin {index} differs from the source events"
            at += len(chunk)
        for index, values in accumulator.finish_iter():
            if not np.array_equal(stored[index], values):
                return f"bin {index} differs from the source events"
    except (InputError, ValueError) as exc:
        return f"cannot be recomputed from the source ({exc})"
    return None
