"""A job's stages on 1, 2 or 4 threads write the same bytes, for every kind of build."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import parse_durations
from egpt_dsec.execute.job import SequenceJob, run_job
from egpt_dsec.execute.report import JobResult, Reporter
from egpt_dsec.kinds.event_image import EventImageOptions
from egpt_dsec.kinds.mp4 import Mp4Options
from egpt_dsec.pipeline import build
from helpers import tree_hashes

DURATIONS = parse_durations("500ms,1s,2s,4s")


class InProcess:
    """Runs every job here, given ``cores`` cores."""

    def __init__(self, cores: int) -> None:
        self.cores = cores

    def run(self, jobs: Sequence[SequenceJob], reporter: Reporter) -> list[JobResult]:
        return [run_job(replace(job, cores=self.cores), reporter) for job in jobs]


OPTION_SETS = {
    "default": {},
    "small chunks": {"max_chunk_events": 5_000},
    "encode mode, gray": {
        "mp4": Mp4Options(mode="encode"),
        "event_image": EventImageOptions(style="gray", count=2),
    },
    "ref, shards": {"event_format": "ref", "shard_seconds": 2.0},
}


@pytest.mark.parametrize("name", sorted(OPTION_SETS))
def test_threads_never_change_the_bytes(small_dsec: Path, tmp_path: Path, name: str) -> None:
    hashes = []
    for cores in (1, 2, 4):
        config = BuildConfig(
            dsec_root=small_dsec, out=tmp_path / f"{cores}", durations=DURATIONS,
            **OPTION_SETS[name],  # type: ignore[arg-type]
        )  # fmt: skip
        report = build(config, executor=InProcess(cores))
        assert not report.failures, report.failures
        assert report.totals.clips_built > 20
        hashes.append(tree_hashes(config.out))
    assert hashes[0] == hashes[1] == hashes[2]
    assert len(hashes[0]) > 50
