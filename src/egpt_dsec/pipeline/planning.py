"""Find the sequences, read their timestamps and plan them: once per build, in the driver."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from egpt_dsec.config import BuildConfig
from egpt_dsec.execute.report import JobResult
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.plan.sequence import SequencePlan
from egpt_dsec.source.discover import SequenceSource
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.timestamps import read_timestamps
from egpt_dsec.state.plans import store_plan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedSequence:
    source: SequenceSource
    plan: SequencePlan


@dataclass(frozen=True)
class BuildPlan:
    """Every requested sequence, planned, and those whose timestamps cannot be read."""

    sources: list[SequenceSource]
    planned: list[PlannedSequence]
    failures: list[JobResult]

    @property
    def splits(self) -> list[str]:
        return sorted({s.split for s in self.sources})


def plan_build(config: BuildConfig, sources: list[SequenceSource]) -> BuildPlan:
    planned, failed = [], []
    for source in sources:
        try:
            timestamps = read_timestamps(source.files.timestamps)
        except InputError as exc:
            log.error("%s: %s", source.key, exc)
            failed.append(JobResult(source.key, error=str(exc)))
            continue
        plan = config.plan_sequence(timestamps)
        planned.append(PlannedSequence(source, plan))
    return BuildPlan(sources, planned, failed)


def store_plans(state: StateLayout, planned: list[PlannedSequence], config: BuildConfig) -> None:
    """Record every sequence's plan so ``status`` knows the whole build."""
    for p in planned:
        store_plan(state, p.source.split, p.source.name, p.plan, config.components)
