"""Repair: forget the clips with problems and delete their bad files, so a build redoes them."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from egpt_dsec.fs import ensure_inside, remove_path
from egpt_dsec.kinds import FILE_KIND_NAMES, JSON, LABEL_QA
from egpt_dsec.layout.output import ANNOTATION_FILES, LABEL_FILES, PROVENANCE_JSON
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.reports.verify.report import EMPTY, TEMP, ClipId, Problem, VerifyReport
from egpt_dsec.state.lock import output_lock
from egpt_dsec.state.manifest import ClipKey, Manifest
from egpt_dsec.state.running import running


def fix_output(out: Path, report: VerifyReport) -> set[ClipId]:
    """Forget the clips with problems, then delete their bad files and any temp files.

    Returns the forgotten clips; a build with the recorded options then redoes exactly
    those (and rewrites the JSON). Holds the output lock, and refuses while a build is
    marked running: its temp files are live. Never deletes through a link leaving OUT.
    """
    state = StateLayout(out)
    manifest = Manifest(state)
    forgotten = {
        clip_id
        for p in report.problems
        if p.component != TEMP and (clip_id := p.clip_id) is not None
    }
    by_sequence: dict[tuple[str, str], set[ClipKey]] = defaultdict(set)
    for split, sequence, duration, clip in forgotten:
        by_sequence[(split, sequence)].add((duration, clip))
    with output_lock(state):
        busy = running(state)
        if busy:
            raise RuntimeError(f"a build is running on {out} ({', '.join(busy)}); fix later")
        for (split, sequence), keys in sorted(by_sequence.items()):
            manifest.forget(split, sequence, keys)
        for p in report.problems:
            if _deletable(p):
                ensure_inside(out, p.path.parent)  # the path itself may be a link: unlinked
                remove_path(p.path)
    return forgotten


def _deletable(problem: Problem) -> bool:
    """Bad output files and temp files go; records, and files a JSON merely names, stay."""
    if problem.component in (*FILE_KIND_NAMES, EMPTY, TEMP):
        return True
    if problem.component == LABEL_QA.name:
        return problem.path.name in LABEL_FILES
    names = (*ANNOTATION_FILES, PROVENANCE_JSON)
    return problem.component == JSON.name and problem.path.name in names
