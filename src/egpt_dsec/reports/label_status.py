"""The label questions in ``egpt-dsec status`` and the card: per split and duration, the
questions of each task, and over all of them each task's answer distribution, read
from the small summary files ``label-qa`` wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from egpt_dsec.config.record import load_last_config
from egpt_dsec.humanize import text_table
from egpt_dsec.kinds.label_qa import read_summaries
from egpt_dsec.labels.summary import GROUP_HEAD, distribution_text, group_cells, merge_summaries
from egpt_dsec.layout.state import StateLayout

LabelGroups = list[dict[str, Any]]  # one summary per split and duration, with both named


def label_groups(out: Path) -> LabelGroups:
    state = StateLayout(out)
    if not state.last_build_file.is_file():
        return []
    splits = sorted({path.parent.name for path in state.plan_files()})
    found = read_summaries(load_last_config(state).output, splits)
    return [{"split": split, "duration": label, **summary} for split, label, summary in found]


def label_lines(groups: LabelGroups) -> list[str]:
    """A table of questions per task, then each task's answers over every group."""
    if not groups:
        return []
    total = merge_summaries(groups)
    everything = {
        "split": "all",
        "duration": "",
        "clips": sum(g.get("clips", 0) for g in groups),
        "clips_asked": sum(g.get("clips_asked", 0) for g in groups),
        **total,
    }
    rows = [list(GROUP_HEAD), *(group_cells(g) for g in [*groups, everything])]
    views = sorted({g.get("view", "") for g in groups} - {""})
    lines = ["", f"label questions ({', '.join(views) or 'no labels'}):", *text_table(rows)]
    lines.append("answers (all groups):")
    for task, answers in total["answers"].items():
        lines.append(f"  {task}: {distribution_text(answers)}")
    without = sorted({s for g in groups for s in g.get("sequences_without_labels", [])})
    failed = sorted({s for g in groups for s in g.get("sequences_failed", {})})
    if without:
        lines.append(f"no labels (no questions): {', '.join(without)}")
    if failed:
        lines.append(f"malformed labels (no questions): {', '.join(failed)}")
    return lines
