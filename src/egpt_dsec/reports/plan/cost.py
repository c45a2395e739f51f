"""Pure: a sequence's planned clips, their event counts and a cost model in; the files
and bytes of every kind, per split and duration, out. Each kind gives its own share
(``Kind.clip_cost``, ``Kind.sequence_cost``); this module only adds them up."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from egpt_dsec.config import EVENT_VIEW, BuildConfig
from egpt_dsec.kinds import Kind
from egpt_dsec.kinds.contexts import Cost, CostModel
from egpt_dsec.plan.sequence import SequencePlan
from egpt_dsec.state.manifest import ClipKey


@dataclass
class Row:
    """One split and duration: clips, windows without events, files and bytes per kind."""

    split: str
    duration: str
    clips: int = 0
    empty: int = 0
    events: int = 0  # events in the clips (each copy counted)
    files: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bytes: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, kind: Kind, cost: Cost) -> None:
        self.files[kind.name] += cost.files
        self.bytes[kind.name] += cost.bytes


def add_sequence(
    rows: dict[tuple[str, str], Row],
    split: str,
    plan: SequencePlan,
    events: dict[ClipKey, int],
    config: BuildConfig,
    model: CostModel,
) -> None:
    """Count one sequence's clips into ``rows``, kind by kind."""
    kinds = [(k, config.options_of(k)) for k in config.kinds if not k.per_dataset]
    for clip in plan.clips:
        row = rows.setdefault((split, clip.duration.label), Row(split, clip.duration.label))
        n = events[clip.key]
        if n == 0:
            row.empty += 1
            continue
        row.clips += 1
        row.events += n
        frames = clip.frame_stop - clip.frame_start
        for kind, options in kinds:
            if kind.writes_for(frames, options):
                row.add(kind, kind.clip_cost(clip, n, options, model))
    # Written once per sequence: counted with the shortest duration.
    shortest = min(config.durations).label
    row = rows.setdefault((split, shortest), Row(split, shortest))
    clips = [(clip, events[clip.key]) for clip in plan.clips]
    for kind, options in kinds:
        row.add(kind, kind.sequence_cost(clips, options, model, config.frames_view == EVENT_VIEW))
