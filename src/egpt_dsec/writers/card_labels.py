"""The card's section on the label questions (pure): what they are, how to load them,
how many of each task per split and duration, and each task's answer distribution, so
a bias is seen before training (from the summaries ``label-qa`` wrote)."""

from __future__ import annotations

import textwrap
from typing import Any

from egpt_dsec.humanize import markdown_table
from egpt_dsec.labels.summary import GROUP_HEAD, distribution_text, group_cells, merge_summaries
from egpt_dsec.labels.tasks import TASKS
from egpt_dsec.layout.output import LABEL_MC_JSON, LABEL_QA_JSON
from egpt_dsec.writers.card_facts import CardFacts


def _groups_table(groups: list[dict[str, Any]]) -> list[str]:
    return markdown_table([list(GROUP_HEAD), *(group_cells(g) for g in groups)])


def labels_section(facts: CardFacts) -> list[str]:
    groups = facts.labels
    views = sorted({g.get("view", "") for g in groups} - {""})
    tasks = sorted({t for g in groups for t in g.get("tasks", [])}, key=TASKS.index)
    source = (
        "`egpt-dsec synth`'s own labels of its moving shapes (test data)"
        if facts.synthetic
        else "DSEC-Detection's labelled object boxes (Gehrig & Scaramuzza, Nature 2024)"
    )
    total = merge_summaries(groups)
    intro = (
        f"Questions whose answers are read from {source}, in the {', '.join(views)}: the "
        f"tasks {', '.join(tasks)}, each by one exact definition (egpt-dsec's README, "
        "*Ground-truth questions*), so every answer can be recomputed. Each split and "
        f"duration has `{LABEL_QA_JSON}` (EventGPT entries, one question each; `answer_meta` "
        "holds `source: labels`, the `task`, the `class` and the evidence: `track_ids` and "
        f"`label_times`) and, with `--multiple-choice`, `{LABEL_MC_JSON}` (`question`, four "
        "`options`, `answer` the index of the right one): configs `labels_<duration>` and "
        "`labels_mc_<duration>`."
    )
    lines = [
        *textwrap.wrap(intro, width=84, break_on_hyphens=False, break_long_words=False),
        "",
        *_groups_table(groups),
        "",
        "How the answers are spread, over every split and duration:",
        "",
        "| task | answers |",
        "|---|---|",
        *(f"| {task} | {distribution_text(a)} |" for task, a in total["answers"].items()),
    ]
    without = sorted({s for g in groups for s in g.get("sequences_without_labels", [])})
    failed = sorted({s for g in groups for s in g.get("sequences_failed", {})})
    if without:
        lines += ["", f"Sequences without labels (no questions): {', '.join(without)}."]
    if failed:
        lines += ["", f"Sequences whose labels are malformed (no questions): {', '.join(failed)}."]
    return lines
