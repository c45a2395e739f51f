"""``event_npy``: each clip's events as EventGPT's pickled ``.npy`` dict.

Written in the pass: the file is laid out from the clip's event count before its first
event arrives, each block of events lands at its offset on the write lane, and the
writer renames the file into place after the last one (``writers.event_npy``). ``verify``
loads it without running its pickle and, with the DSEC root, compares every event.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from egpt_dsec.events import EVENT_DTYPES, EVENT_FIELDS, SENSOR_HEIGHT, SENSOR_WIDTH, Events
from egpt_dsec.kinds.base import WINDOWS, ClipPart, Found, Kind
from egpt_dsec.kinds.contexts import CheckTask, Cost, CostModel, Throughput, UnitContext, Workload
from egpt_dsec.plan.clips import Clip
from egpt_dsec.render.rectify import rectify_run
from egpt_dsec.safe_npy import NpyFormatError, UnsafeNpyError, load_event_npy
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.state.manifest import ClipRecord
from egpt_dsec.writers.event_npy import ClipMetadata, EventNpyWriter, npy_file_size

EVENT_BYTES = sum(dtype.itemsize for dtype in EVENT_DTYPES.values())
# Keys of our event files, in the order EventGPT's scripts wrote them.
NPY_KEYS = (*EVENT_FIELDS, *(f.name for f in fields(ClipMetadata)))
CHECK_CHUNK = 4_000_000  # events compared per step: bounds the extra memory per clip


class EventWriter(Protocol):
    """A writer of a clip's events at their positions (``writers.event_npy``, ``_npz``)."""

    def write(self, offset: int, events: Events) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class EventFilePart(ClipPart):
    """A file of the clip's events: chunks written at their offsets by the write lane,
    which also renames the file into place after the last one."""

    wants_events = True
    stage = "write_npy"  # the stats' name of its write time

    def __init__(
        self, kind: Kind, ctx: UnitContext, clip: Clip, num_events: int, options: Any
    ) -> None:
        super().__init__(kind, ctx, clip, num_events, options)
        self._writer = self.make_writer(clip, num_events)

    def make_writer(self, clip: Clip, num_events: int) -> EventWriter:
        return EventNpyWriter(self.path(), ClipMetadata.of(clip, num_events))

    def feed_events(self, offset: int, events: Events) -> None:
        lane, weight = self.ctx.lanes.writes, len(events) * EVENT_BYTES
        self.pending.append(lane.submit(self._write, offset, events, weight=weight))

    def close(self) -> None:
        self.pending.append(self.ctx.lanes.writes.submit(self._commit))

    def _write(self, offset: int, events: Events) -> None:
        with self.ctx.stats.timed(self.stage):
            self._writer.write(offset, events)

    def _commit(self) -> None:
        with self.ctx.stats.timed(self.stage):
            self._writer.commit()

    def abort(self) -> None:
        self._writer.abort()


class EventNpyKind(Kind):
    def part_type(self, options: Any) -> type[ClipPart]:
        return EventFilePart

    def clip_cost(self, clip: Clip, events: int, options: Any, model: CostModel) -> Cost:
        return Cost(1, npy_file_size(ClipMetadata.of(clip, events)))

    def cpu_seconds(self, work: Workload, options: Any, speed: Throughput) -> float:
        """Pushing the bytes to the disk costs CPU as long as writing them takes."""
        return work.bytes.get(self.name, 0.0) / speed.disk_bytes_per_s

    def check(self, task: CheckTask, options: Any, events: EventFile | None) -> Found:
        path = task.path(self)
        if not task.present(self, path):
            return [task.problem(self.name, path, "missing")]
        what = _npy_problem(path, task, events)
        return [task.problem(self.name, path, what)] if what else []


EVENT_NPY = EventNpyKind(
    "event_npy",
    template="{sequence}/{clip}.npy",
    entry_key="event_data",
    depends_on=(*WINDOWS, "image_idx", "rectify_events"),
    checked_by="loaded with a restricted unpickler: keys, dtypes, count, time range, "
    "and with --dsec-root the very events of the source window",
)


def _npy_problem(path: Path, task: CheckTask, events: EventFile | None) -> str | None:
    """The first thing wrong with an event file that exists, or None."""
    try:
        data = load_event_npy(path)
    except UnsafeNpyError as exc:
        return f"unsafe pickle, refused global {exc.global_name} (nothing was run)"
    except NpyFormatError as exc:
        return exc.problem
    except OSError as exc:
        return f"cannot be read ({exc})"
    if tuple(data) != NPY_KEYS:
        return f"keys {list(data)} are not {list(NPY_KEYS)}"
    return (
        _arrays_problem(data, task.record)
        or _metadata_problem(data, task)
        or events_problem(data, task.record)
        or source_problem(data, task, events)
    )


def _arrays_problem(data: dict[str, Any], r: ClipRecord) -> str | None:
    for name in EVENT_FIELDS:
        arr = data[name]
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype != EVENT_DTYPES[name]:
            what = f"{getattr(arr, 'dtype', type(arr).__name__)} {getattr(arr, 'shape', '')}"
            return f"{name} is {what.strip()}, expected 1-d {EVENT_DTYPES[name]}"
        if len(arr) != r.num_events:
            return f"{name} holds {len(arr)} events, the manifest says {r.num_events}"
    return None


def _metadata_problem(data: dict[str, Any], task: CheckTask) -> str | None:
    r = task.record
    expected = {
        "time_start": r.t0,
        "time_end": r.t1,
        "duration_ms": task.duration.ms,
        "image_timestamp": r.t1,
        "num_events": r.num_events,
    }
    if r.image_idx >= 0:
        expected["image_idx"] = r.image_idx
    for key, want in expected.items():
        if not _is_int(data[key], want):
            return f"{key} is {data[key]!r}, expected {want}"
    indices = data["image_indices_in_clip"]
    if not isinstance(indices, list) or indices != list(range(r.frame_start, r.frame_stop)):
        return f"image_indices_in_clip is not frames {r.frame_start}..{r.frame_stop - 1}"
    return None


def _is_int(value: Any, want: int) -> bool:
    return isinstance(value, int | np.integer) and int(value) == want


def events_problem(data: dict[str, Any], record: ClipRecord) -> str | None:
    """Sorted, inside [t0, t1), on the sensor, polarities 0 and 1."""
    p, t, x, y = (data[name] for name in EVENT_FIELDS)
    n = record.num_events
    if n and (int(t[0]) < record.t0 or int(t[-1]) >= record.t1):
        return f"t spans [{int(t[0])}, {int(t[-1])}], outside [{record.t0}, {record.t1})"
    for a in range(0, n, CHECK_CHUNK):
        b = min(a + CHECK_CHUNK, n)
        steps = np.diff(t[max(a - 1, 0) : b])  # one event back: order across chunks too
        if len(steps) and int(steps.min()) < 0:
            return f"t is not sorted (near event {max(a - 1, 0) + int(np.argmax(steps < 0)) + 1})"
        if int(x[a:b].max()) >= SENSOR_WIDTH or int(y[a:b].max()) >= SENSOR_HEIGHT:
            return f"events fall outside the {SENSOR_WIDTH}x{SENSOR_HEIGHT} sensor"
        if int(p[a:b].max()) > 1:
            return "p holds values other than 0 and 1"
    return None


def source_problem(data: dict[str, Any], task: CheckTask, events: EventFile | None) -> str | None:
    """With DSEC: the events equal the source window's (rectified, if the build did)."""
    if events is None or task.source is None:
        return None
    r, table = task.record, task.source.rectify
    at = 0  # the clip event the next source chunk starts at
    for a in range(0, r.source_events, CHECK_CHUNK):
        b = min(a + CHECK_CHUNK, r.source_events)
        try:
            source = events.read(r.event_start + a, r.event_start + b)
        except InputError as exc:
            return f"source events cannot be read to compare ({exc.problem})"
        if table is not None:
            source, _ = rectify_run(source, table)
        for name in EVENT_FIELDS:
            got, want = data[name][at : at + len(source)], getattr(source, name)
            if not np.array_equal(got, want):
                first = at + int(np.argmax(got != want)) if len(got) == len(want) else at
                rectified = " (rectified)" if table is not None else ""
                return f"{name} differs from the source events{rectified} (first at event {first})"
        at += len(source)
    if at != r.num_events:
        return f"the source window gives {at} events (rectified), the record says {r.num_events}"
    return None
