"""The whole output, clip by clip: at most a few clips' events in memory per worker."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from egpt_dsec.layout import STATE_DIR, OutputLayout
from egpt_dsec.manifest import Manifest
from egpt_dsec.reports.verify.annotations import json_problems
from egpt_dsec.reports.verify.clip import ClipResult, check_clip
from egpt_dsec.reports.verify.mp4 import Mp4Size, mp4_size_problems
from egpt_dsec.reports.verify.options import RecordedOptions
from egpt_dsec.reports.verify.report import REPORT_COMPONENTS, Problem, VerifyReport, report_order
from egpt_dsec.reports.verify.sources import Source, load_sources
from egpt_dsec.reports.verify.task import ClipTask, sequence_tasks
from egpt_dsec.reports.verify.temps import temp_problems


def verify_output(
    out: Path,
    dsec_root: Path | None = None,
    reporter: Callable[[int], None] | None = None,
    workers: int = 1,
) -> VerifyReport:
    """Check every output the manifest says is done; problems are collected, never raised.

    ``reporter(n)`` is called from the calling thread after each clip, with the number of
    clips just checked (so a tqdm bar's ``update`` fits; ``count_clips`` gives the total).
    With ``dsec_root`` events and frames are compared with the source; a sequence missing
    there raises InputError (a wrong root would otherwise flag every clip). A folder that
    holds no build raises ValueError rather than passing with nothing checked.
    """
    layout = OutputLayout(out)
    if not layout.state_dir.is_dir():
        raise ValueError(f"{out} holds no egpt-dsec build (no {STATE_DIR} folder)")
    manifest = Manifest(layout.state_dir)
    options = RecordedOptions.load(layout.state_dir)
    records = manifest.all_records()
    running = manifest.running()
    sources: dict[tuple[str, str], Source] = {}
    if dsec_root is not None:
        labels = {r.duration for clips in records.values() for r in clips.values()}
        sources = load_sources(dsec_root, [k for k, v in records.items() if v], labels, options)
    checked: Counter[str] = Counter()
    problems, checked["temp"] = temp_problems(out)
    mp4_sizes: list[Mp4Size] = []
    clips = 0

    def collect(result: ClipResult) -> None:
        nonlocal clips
        clips += 1
        checked.update(result.checked)
        problems.extend(result.problems)
        if result.mp4 is not None:
            mp4_sizes.append(result.mp4)
        if reporter is not None:
            reporter(1)

    with ThreadPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as pool:
        for (split, sequence), sequence_records in sorted(records.items()):
            source = sources.get((split, sequence))
            try:
                tasks = sequence_tasks(layout, split, sequence, sequence_records, options, source)
                _check_clips(tasks, collect, pool, workers)
            finally:
                if source is not None:
                    source.events.close()
    problems += mp4_size_problems(mp4_sizes, sources, options)
    found, checked["json"] = json_problems(layout, manifest, records, options, dsec_root)
    problems += found
    checked_all = {c: checked[c] for c in REPORT_COMPONENTS}
    return VerifyReport(checked_all, _drop_repeats(problems), clips, running)


def count_clips(out: Path) -> int:
    """How many clip records ``verify_output`` will check (for a progress bar's total)."""
    records = Manifest(OutputLayout(out).state_dir).all_records()
    return sum(len(clips) for clips in records.values())


def _check_clips(
    tasks: Iterable[ClipTask],
    collect: Callable[[ClipResult], None],
    pool: ThreadPoolExecutor | None,
    workers: int,
) -> None:
    """Check clips on the pool, a few in flight (each may hold a clip's events); wait for all."""
    if pool is None:
        for task in tasks:
            collect(check_clip(task))
        return
    pending: set[Future[ClipResult]] = set()
    try:
        for task in tasks:
            pending.add(pool.submit(check_clip, task))
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
    reported = {p.path for p in problems if p.component != "json"}
    kept = {p for p in problems if p.component != "json" or p.path not in reported}
    return sorted(kept, key=report_order)
