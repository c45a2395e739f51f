"""The label files (``label-qa``): each holds exactly what the label kind gives from the
labels kept beside the output and the manifest, and none is stale."""

from __future__ import annotations

from egpt_dsec.config.record import dataset_context, load_options
from egpt_dsec.kinds import LABEL_QA
from egpt_dsec.kinds.base import Records
from egpt_dsec.kinds.label_qa import stale_label_files
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.reports.verify.built import Built
from egpt_dsec.reports.verify.report import Problem


def label_problems(state: StateLayout, records: Records, built: Built) -> tuple[list[Problem], int]:
    """Problems of the label files, and how many were checked (none before label-qa)."""
    if LABEL_QA.name not in load_options(state):
        return [], 0
    config = built.of(LABEL_QA)
    layout = config.output
    splits = sorted({split for split, _ in records})
    expected = LABEL_QA.dataset_files(dataset_context(config, splits))
    problems = []
    for file in expected:
        at = layout.locate(file.path)
        what = ""
        if not file.path.is_file():
            what = "missing"
        elif file.path.read_bytes() != file.data:
            what = "differs from what the kept labels and the manifest give"
        if what:
            problems.append(Problem(file.path, LABEL_QA.name, at.split, "", at.duration, -1, what))
    for path in stale_label_files(layout, splits, expected):
        at = layout.locate(path)
        what = "stale: the dataset holds no such file now"
        problems.append(Problem(path, LABEL_QA.name, at.split, "", at.duration, -1, what))
    return problems, len(expected)
