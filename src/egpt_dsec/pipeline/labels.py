"""``label-qa``: the label questions of an existing build, written under its lock.

The build's recorded config, with the DSEC root given, ``label_qa`` added to its
components and the label options asked for, is recorded (so a later ``verify --fix`` or
``annotate`` writes the same label files and merged turns), then every kind written per
dataset is published again: the label files, the JSON files (which may merge the label
turns) and the card (which lists the label files and their answer distributions).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from egpt_dsec.config import BuildConfig
from egpt_dsec.config.record import load_last_config, save_last_config, save_options
from egpt_dsec.kinds import LABEL_QA
from egpt_dsec.kinds.label_qa import read_summaries
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.pipeline.build import publish
from egpt_dsec.pipeline.preflight import preflight
from egpt_dsec.source.errors import InputError
from egpt_dsec.state.labels import FAILED, FOUND, MISSING, LabelStore
from egpt_dsec.state.lock import output_lock


@dataclass
class LabelReport:
    files: list[Path] = field(default_factory=list)
    sequences: dict[str, list[str]] = field(default_factory=dict)  # status -> split/seq
    failures: dict[str, str] = field(default_factory=dict)  # split/seq -> problem
    questions: int = 0
    choices: int = 0
    clips: int = 0  # clips asked about
    groups: list[tuple[str, str]] = field(default_factory=list)  # (split, duration)


def label_config(out: Path, dsec_root: Path, options: Any) -> BuildConfig:
    """The recorded build with ``label_qa`` (``options``) and this DSEC root."""
    try:
        last = load_last_config(StateLayout(out))
    except ValueError:
        raise ValueError(
            f"{out} holds no egpt-dsec build: run egpt-dsec build --dsec-root DSEC "
            f"--out {out} first"
        ) from None
    components = tuple(dict.fromkeys((*last.components, LABEL_QA.name)))
    return replace(last, dsec_root=dsec_root, components=components, **{LABEL_QA.name: options})


def label_qa(out: Path, dsec_root: Path, options: Any) -> LabelReport:
    """Read the labels of every built sequence and write the label files (and the JSON
    files and card again); one sequence's bad labels fail it alone."""
    if not dsec_root.is_dir():
        raise InputError(
            dsec_root, "not a folder", "give the DSEC root the build read (--dsec-root)"
        )
    config = label_config(out, dsec_root, options)
    preflight(config, foreign=False)  # the build's refusals: a root apart, a free lock
    state = StateLayout(out)
    with output_lock(state):
        save_options(state, config)
        save_last_config(state, config)
        written = publish(config)
    return label_report(config, written.get(LABEL_QA.name, []))


def label_report(config: BuildConfig, files: list[Path]) -> LabelReport:
    state = StateLayout(config.out)
    report = LabelReport(files=files)
    for (split, sequence), found in sorted(LabelStore(state).index().items()):
        report.sequences.setdefault(found.status, []).append(f"{split}/{sequence}")
        if found.status == FAILED:
            report.failures[f"{split}/{sequence}"] = found.problem
    for status in (FOUND, MISSING, FAILED):
        report.sequences.setdefault(status, [])
    splits = sorted({split for split, _ in LabelStore(state).index()})
    for split, label, summary in read_summaries(config.output, splits):
        report.groups.append((split, label))
        report.questions += sum(summary.get("questions", {}).values())
        report.choices += sum(summary.get("multiple_choice", {}).values())
        report.clips += int(summary.get("clips_asked", 0))
    return report
