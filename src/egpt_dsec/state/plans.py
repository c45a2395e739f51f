"""Each sequence's plan, stored when the build starts: ``status`` counts planned clips
from it and ``verify`` checks records against it, so neither plans again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.fs import atomic_write_bytes
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.plan.sequence import SequencePlan

Window = tuple[int, ...]  # (t0, frame_start, frame_stop, image_idx)
# Stored as (clip index, *Window); plans of 0.2.0 stored the Window alone, by position.


def timestamps_digest(timestamps: NDArray[np.int64]) -> str:
    """What ``verify --dsec-root`` compares to know the source still has these timestamps."""
    return hashlib.sha256(np.ascontiguousarray(timestamps, dtype="<i8").tobytes()).hexdigest()


@dataclass(frozen=True)
class StoredPlan:
    split: str
    sequence: str
    clips: dict[str, int]  # duration label -> planned clips
    components: tuple[str, ...] = ()
    windows: dict[str, list[Window]] = field(default_factory=dict)  # label -> by clip index
    units: list[tuple[str, int, int]] = field(default_factory=list)  # (unit, start, stop µs)
    timestamps_sha256: str = ""
    _by_index: dict[str, dict[int, Window]] = field(default_factory=dict, repr=False, compare=False)

    def window(self, label: str, index: int) -> Window | None:
        windows = self.windows.get(label, [])
        if windows and len(windows[0]) == 4:  # 0.2.0: by position
            return windows[index] if 0 <= index < len(windows) else None
        found = self._by_index.setdefault(label, {w[0]: w[1:] for w in windows})
        return found.get(index)

    def unit_of(self, t0: int) -> str:
        """The work unit owning a clip that starts at ``t0`` ("" if unsharded)."""
        return next((unit for unit, start, stop in self.units if start <= t0 < stop), "")


def store_plan(
    state: StateLayout, split: str, sequence: str, plan: SequencePlan, components: tuple[str, ...]
) -> None:
    """Write the plan; durations planned by an earlier build keep their windows."""
    old = _read(state, split, sequence)
    windows = dict(old.windows) if old else {}
    clips = dict(old.clips) if old else {}
    for duration in plan.durations:
        windows[duration.label] = []
        clips[duration.label] = 0
    for clip in sorted(plan.clips, key=lambda c: (c.duration, c.index)):
        windows[clip.duration.label].append(
            (clip.index, clip.t0, clip.frame_start, clip.frame_stop, clip.image_idx)
        )
        clips[clip.duration.label] += 1
    stored = StoredPlan(
        split,
        sequence,
        clips,
        components,
        windows,
        [(s.unit, s.start, s.stop) for s in plan.shards],
        timestamps_digest(plan.timestamps),
    )
    fields = {k: v for k, v in asdict(stored).items() if not k.startswith("_")}
    data = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    atomic_write_bytes(state.plan_file(split, sequence), data)


def stored_plans(state: StateLayout) -> list[StoredPlan]:
    return [_parse(json.loads(path.read_text())) for path in state.plan_files()]


def _read(state: StateLayout, split: str, sequence: str) -> StoredPlan | None:
    path = state.plan_file(split, sequence)
    return _parse(json.loads(path.read_text())) if path.is_file() else None


def _parse(data: dict[str, Any]) -> StoredPlan:
    return StoredPlan(
        split=data["split"],
        sequence=data["sequence"],
        clips=dict(data["clips"]),
        components=tuple(data.get("components", ())),
        windows={
            label: [tuple(w) for w in rows] for label, rows in data.get("windows", {}).items()
        },
        units=[tuple(u) for u in data.get("units", [])],
        timestamps_sha256=data.get("timestamps_sha256", ""),
    )
