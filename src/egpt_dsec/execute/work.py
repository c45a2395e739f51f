"""A job's work: its planned clips, what the manifest says is done, what each still needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from egpt_dsec.config import BuildConfig
from egpt_dsec.kinds import Kind
from egpt_dsec.plan.clips import Clip
from egpt_dsec.state.manifest import ClipKey, ClipRecord


def clip_kinds(config: BuildConfig) -> tuple[tuple[Kind, Any], ...]:
    """The kinds the build writes clip by clip (all but the JSON files and the card),
    each with its options, in registry order."""
    return tuple((k, config.options_of(k)) for k in config.kinds if not k.per_dataset)


@dataclass(frozen=True)
class WorkPlan:
    clips: tuple[Clip, ...]  # every clip the unit owns, in streaming order
    done: dict[ClipKey, ClipRecord]
    needs: dict[ClipKey, set[str]]  # file kinds still to write

    @property
    def todo(self) -> tuple[Clip, ...]:
        return tuple(c for c in self.clips if self.needs[c.key])

    def event_windows(self, config: BuildConfig) -> list[tuple[int, int]]:
        """The time ranges whose events the pass reads (clips to do that take events),
        merged: what progress counts as events to read."""
        takers = {
            kind.name
            for kind, options in clip_kinds(config)
            if (part := kind.part_type(options)) is not None and part.wants_events
        }
        spans = sorted((c.t0, c.t1) for c in self.todo if self.needs[c.key] & takers)
        merged: list[tuple[int, int]] = []
        for t0, t1 in spans:
            if merged and t0 <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], t1))
            else:
                merged.append((t0, t1))
        return merged

    @staticmethod
    def of(
        clips: tuple[Clip, ...], done: dict[ClipKey, ClipRecord], config: BuildConfig
    ) -> WorkPlan:
        wanted = {kind.name for kind, _ in clip_kinds(config)}
        needs = {
            c.key: wanted - set(done[c.key].components) if c.key in done else set(wanted)
            for c in clips
        }
        return WorkPlan(clips, {c.key: done[c.key] for c in clips if c.key in done}, needs)
