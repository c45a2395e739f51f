"""The whole output, clip by clip: at most a few clips' events in memory per worker."""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from egpt_dsec.kinds import FILE_KINDS, JSON, LABEL_QA, VIDEO, CheckTask
from egpt_dsec.layout.state import STATE_DIR, StateLayout
from egpt_dsec.reports.verify.annotations import json_problems
from egpt_dsec.reports.verify.built import Built
from egpt_dsec.reports.verify.clip import ClipResult, check_clip
from egpt_dsec.reports.verify.labels import label_problems
from egpt_dsec.reports.verify.report import (
    REPORT_COMPONENTS,
    TEMP,
    Problem,
    VerifyReport,
    report_order,
)
from egpt_dsec.reports.verify.sources import EventFiles, Source, load_sources
from egpt_dsec.reports.verify.task import sequence_tasks
from egpt_dsec.reports.verify.temps import temp_problems
from egpt_dsec.reports.verify.unowned import unowned_problems
from egpt_dsec.state.manifest import Manifest
from egpt_dsec.state.plans import stored_plans
from egpt_dsec.state.running import running


class _Collector:
    """Merges clip results as they come back; ``reporter(1)`` after each clip."""

    def __init__(self, reporter: Callable[[int], None] | None) -> None:
        self.reporter = reporter
        self.checked: Counter[str] = Counter()
        self.problems: list[Problem] = []
        self.facts: dict[str, list[Any]] = defaultdict(list)  # kind -> facts of its checks
        self.clips = 0

    def __call__(self, result: ClipResult) -> None:
        self.clips += 1
        self.checked.update(result.checked)
        self.problems.extend(result.problems)
        for kind, fact in result.facts.items():
            if fact is not None:
                self.facts[kind].append(fact)
        if self.reporter is not None:
            self.reporter(1)


def verify_output(
    out: Path,
    dsec_root: Path | None = None,
    reporter: Callable[[int], None] | None = None,
    workers: int = 1,
) -> VerifyReport:
    """Check every output the manifest says is done, and that every file of a per-clip
    kind belongs to a clip it records; problems are collected, never raised.

    ``reporter(n)`` is called from the calling thread after each clip, with the number of
    clips just checked (so a tqdm bar's ``update`` fits; ``count_clips`` gives the total).
    With ``dsec_root`` events and frames are compared with the source; a sequence missing
    there raises InputError (a wrong root would otherwise flag every clip). A folder that
    holds no build raises ValueError rather than passing with nothing checked.
    """
    state = StateLayout(out)
    if not state.root.is_dir() or not state.last_build_file.is_file():
        raise ValueError(
            f"{out} holds no egpt-dsec build (no {STATE_DIR} folder with a finished plan); "
            "give the --out of a build"
        )
    manifest = Manifest(state)
    built = Built.load(state)
    layout = built.of(JSON).output
    records = manifest.all_records()
    busy = running(state)
    plans = {(p.split, p.sequence): p for p in stored_plans(state)}
    sources: dict[tuple[str, str], Source] = {}
    if dsec_root is not None:
        sources = load_sources(dsec_root, [k for k, v in records.items() if v], built, plans)
    collect = _Collector(reporter)
    collect.problems, collect.checked[TEMP] = temp_problems(layout)
    splits = sorted({split for split, _ in records} | {split for split, _ in plans})
    collect.problems += unowned_problems(layout, records, splits)
    with ThreadPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as pool:
        for key, sequence_records in sorted(records.items()):
            source = sources.get(key)
            try:
                tasks = sequence_tasks(
                    layout, *key, sequence_records, built, plans.get(key), source
                )
                events = source.events if source is not None else None
                _check_clips(tasks, built, events, collect, pool, workers)
            finally:
                if source is not None:
                    source.events.close()
    problems = collect.problems + [
        problem
        for kind in FILE_KINDS
        for problem in kind.check_together(
            collect.facts[kind.name], sources, built.options(kind), built.event_view(VIDEO)
        )
    ]
    found, collect.checked[JSON.name] = json_problems(state, records, built, dsec_root)
    labels, collect.checked[LABEL_QA.name] = label_problems(state, records, built)
    found += labels
    checked_all = {c: collect.checked[c] for c in REPORT_COMPONENTS}
    return VerifyReport(checked_all, _drop_repeats(problems + found), collect.clips, busy)


def count_clips(out: Path) -> int:
    """How many clip records ``verify_output`` will check (for a progress bar's total)."""
    records = Manifest(StateLayout(out)).all_records()
    return sum(len(clips) for clips in records.values())


def _check_clips(
    tasks: Iterable[CheckTask],
    built: Built,
    events: EventFiles | None,
    collect: Callable[[ClipResult], None],
    pool: ThreadPoolExecutor | None,
    workers: int,
) -> None:
    """Check clips on the pool, a few in flight (each may hold a clip's events); wait for all."""
    if pool is None:
        for task in tasks:
            collect(check_clip(task, built, events))
        return
    pending: set[Future[ClipResult]] = set()
    try:
        for task in tasks:
            pending.add(pool.submit(check_clip, task, built, events))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    collect(future.result())
    finally:
        done, _ = wait(pending)  # no clip may still read a file the caller closes next
    for future in done:
        collect(future.result())


def _drop_repeats(problems: list[Problem]) -> list[Problem]:
    """A JSON entry pointing at a file already reported adds nothing; keep the file's report."""
    reported = {p.path for p in problems if p.component != JSON.name}
    kept = {p for p in problems if p.component != JSON.name or p.path not in reported}
    return sorted(kept, key=report_order)
