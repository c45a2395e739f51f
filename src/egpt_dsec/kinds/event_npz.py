"""``event_npz``: each clip's raw events as a plain ``.npz`` (no pickle) for EventBench.

EventBench / EventGPT-Plus (``--use_npz``) reads a window's events with ``np.load(path)``
from members ``x``, ``y``, ``t``, ``p``. Written in the pass like ``event_npy``: the ZIP
is laid out from the clip's event count, chunks land at their offsets in stream order on
the write lane, each member's CRC is carried along, and the file is renamed into place
after the last chunk (``writers.event_npz``). ``verify`` reads every member to its end
(CRC included) and, with the DSEC root, compares every event with the source.
"""

from __future__ import annotations

from typing import Any

from egpt_dsec.kinds.base import WINDOWS, ClipPart, Found, Kind
from egpt_dsec.kinds.contexts import CheckTask, Cost, CostModel, Throughput, Workload
from egpt_dsec.kinds.event_npy import EventFilePart, source_problem
from egpt_dsec.plan.clips import Clip
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.writers.event_npz import EventNpzWriter, npz_file_size
from egpt_dsec.writers.event_npz_read import load_event_npz, npz_problem


class NpzPart(EventFilePart):
    """Chunks in stream order (the write lane keeps them in order), CRCs carried along."""

    stage = "write_npz"

    def make_writer(self, clip: Clip, num_events: int) -> EventNpzWriter:
        return EventNpzWriter(self.path(), num_events)


class EventNpzKind(Kind):
    def part_type(self, options: Any) -> type[ClipPart]:
        return NpzPart

    def clip_cost(self, clip: Clip, events: int, options: Any, model: CostModel) -> Cost:
        return Cost(1, npz_file_size(events))

    def cpu_seconds(self, work: Workload, options: Any, speed: Throughput) -> float:
        """Pushing the bytes to the disk, and their CRCs."""
        return work.bytes.get(self.name, 0.0) / speed.disk_bytes_per_s

    def check(self, task: CheckTask, options: Any, events: EventFile | None) -> Found:
        path, r = task.path(self), task.record
        if not task.present(self, path):
            return [task.problem(self.name, path, "missing")]
        what = npz_problem(path, r.num_events, r.t0, r.t1)
        if what is None and events is not None and task.source is not None:
            what = source_problem(load_event_npz(path).as_dict(), task, events)
        return [task.problem(self.name, path, what)] if what else []


EVENT_NPZ = EventNpzKind(
    "event_npz",
    template="{sequence}/{clip}.npz",
    entry_key="event_npz",
    depends_on=(*WINDOWS, "rectify_events"),
    checked_by="a ZIP of x, y, t, p .npy members read to the end (CRCs), their dtypes, "
    "count and window, and with --dsec-root the very events of the source window",
    default=False,
)
