"""From the answers log to the JSON files of each split and duration.

A pure function of the built clips, the log and the selection options: the same
log gives byte-identical files, whatever order the answers arrived in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from egpt_dsec.annotate import dataset
from egpt_dsec.annotate.answers_log import AnswersLog
from egpt_dsec.annotate.model import ClipToAsk
from egpt_dsec.annotate.output import AnswerSource, annotate_items
from egpt_dsec.annotate.provenance import RunChoices, count_outcomes, provenance_record
from egpt_dsec.annotate.select import Outcome, decide
from egpt_dsec.annotate.settings import AnswerSettings

EVENT_TOKEN = "<event>"  # EventGPT's dataset.json
VIDEO_TOKEN = "<video>"  # Video-LLaVA's videollava.json


def group_outcomes(
    clips: Sequence[ClipToAsk], log: AnswersLog, choices: RunChoices, group: dataset.Group
) -> tuple[dict[str, Outcome], Counter[str]]:
    """Each clip's decision, and how many answers in the log came from each source."""
    answers = log.read(*group)
    outcomes = {
        clip.id: decide(choices.select, clip.id, choices.questions, answers, choices.min_confidence)
        for clip in clips
        if clip.group == group
    }
    sources = Counter(a.source for a in answers.values() if a.ok and a.clip in outcomes)
    return outcomes, sources


def write_outputs(
    out: Path,
    clips: Sequence[ClipToAsk],
    log: AnswersLog,
    settings: AnswerSettings,
    choices: RunChoices,
) -> dict[dataset.Group, dict[str, Any]]:
    """Rewrite the JSON files and provenance of every group of ``clips``; their counts."""
    counts = {}
    source = AnswerSource(settings.model, settings.key)
    groups = sorted({clip.group for clip in clips})
    built_items = dataset.built_items(out, groups)
    for group in groups:
        outcomes, sources = group_outcomes(clips, log, choices, group)
        built, built_videollava = built_items[group]
        items = annotate_items(built, outcomes, EVENT_TOKEN, source)
        videollava = None
        if built_videollava is not None:
            videollava = annotate_items(built_videollava, outcomes, VIDEO_TOKEN, source)
        record = provenance_record(settings, choices, list(outcomes.values()), sources)
        dataset.write_group(out, group, items, videollava, record)
        counts[group] = count_outcomes(outcomes.values())
    return counts
