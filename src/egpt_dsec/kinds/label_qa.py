"""``label_qa``: questions answered from DSEC-Detection's labelled boxes, written once
per dataset (``egpt-dsec label-qa``, or ``build --components ...,label_qa``).

It reads each built sequence's ``tracks.npy`` (``source.labels``: checked, moved into
the rectified view with ``--rectify-events``) into a copy beside the output
(``state.labels``), then writes per split and duration ``label_qa.json`` (EventGPT
entries, one question each, with ``answer_meta`` giving the task, the class and the
evidence), with ``--multiple-choice`` ``label_qa_mc.json`` (four options, the index of
the right one) and ``label_qa_summary.json`` (questions and answer distributions per
task, and which sequences had no or malformed labels). The questions are
``labels.clip_questions`` of each finished clip's window. A sequence without labels gets
no questions; a malformed file fails that sequence alone. ``dataset_files`` is pure
given the kept labels: ``verify`` compares the files with it.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egpt_dsec import argtypes
from egpt_dsec.durations import Duration
from egpt_dsec.fs import ensure_inside, remove_path, write_if_changed
from egpt_dsec.kinds.base import WINDOWS, ClipEntry, DatasetContext, FollowUp, Kind
from egpt_dsec.kinds.contexts import Cost
from egpt_dsec.kinds.dataset_json import (
    JsonFile,
    clip_entries,
    cost_by_group,
    entry_id,
    eventgpt_item,
    in_kind_folder,
)
from egpt_dsec.labels import TASKS, Question, Tracks, clip_questions
from egpt_dsec.labels.summary import summarize
from egpt_dsec.labels.view import RAW, RECTIFIED
from egpt_dsec.layout.dsec import sequence_folder
from egpt_dsec.layout.output import LABEL_FILES, OutputLayout
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.options import option
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.labels import sequence_labels
from egpt_dsec.state.labels import FAILED, FOUND, MISSING, Index, LabelStore, SequenceLabels
from egpt_dsec.writers.annotations import EVENT_TOKEN, render_json
from egpt_dsec.writers.card_facts import HfConfig

log = logging.getLogger(__name__)
LABEL_META = "label_meta"  # the key of merged turns' metadata in an EventGPT entry
LABELS_TRAINER, CHOICES_TRAINER = "EventGPT (label questions)", "multiple choice"
LABELS_PREFIX, CHOICES_PREFIX = "labels_", "labels_mc_"


def _duration_labels(text: str) -> tuple[str, ...]:
    """``1s,500ms`` -> ``("500ms", "1s")`` (labels: the options record holds them as is)."""
    return tuple(d.label for d in argtypes.durations(text))


@dataclass(frozen=True)
class LabelQaOptions:
    tasks: tuple[str, ...] = option(
        TASKS,
        flag="--tasks",
        help=f"label tasks to ask, of {', '.join(TASKS)}",
        example="count,presence",
        parse=argtypes.csv_list,
        show=",".join,
        metavar="LIST",
    )
    label_splits: tuple[str, ...] | None = option(
        None,
        flag="--label-splits",
        help="splits to ask label questions about",
        example="test",
        parse=argtypes.csv_list,
        show=argtypes.csv_or_all,
        metavar="LIST",
    )
    label_durations: tuple[str, ...] | None = option(
        None,
        flag="--label-durations",
        help="durations to ask label questions about",
        example="1s,4s",
        parse=_duration_labels,
        show=argtypes.csv_or_all,
        metavar="LIST",
    )
    multiple_choice: bool = option(
        False,
        flag="--multiple-choice",
        help="also write the multiple-choice files: four options per question, one right",
        switch=True,
    )
    seed: int = option(
        0,
        flag="--seed",
        help="picks each question's phrasing, the absent classes asked and the options' order",
        example="1",
        parse=int,
        metavar="N",
    )
    merge_labels: bool = option(
        False,
        flag="--merge-labels",
        help="append each clip's label questions to its conversation in the EventGPT "
        "files, after the model's answer",
        switch=True,
    )

    def __post_init__(self) -> None:
        unknown = [t for t in self.tasks if t not in TASKS]
        if unknown or not self.tasks:
            raise ValueError(
                f"--tasks: unknown {unknown or 'empty list'}; choose from {', '.join(TASKS)}"
            )
        if self.seed < 0:
            raise ValueError(f"--seed must be >= 0, got {self.seed}")

    def covers(self, split: str, duration: str) -> bool:
        durations = self.label_durations
        return (self.label_splits is None or split in self.label_splits) and (
            durations is None or duration in durations
        )


def _view(ctx: DatasetContext) -> str:
    return RECTIFIED if ctx.options.get("rectify_events") else RAW


class LabelQaKind(Kind):
    def publish(self, ctx: DatasetContext) -> list[Path]:
        """Read every built sequence's labels (when the DSEC root is at hand), then write
        the label files and remove those the dataset no longer holds."""
        if ctx.dsec_root.is_dir():
            collect(ctx)
        else:
            log.warning(
                "%s is not there: label questions from the labels read before", ctx.dsec_root
            )
        files = self.dataset_files(ctx)
        for path in stale_label_files(ctx.layout, ctx.splits, files):
            remove_path(path)
        for file in files:
            ensure_inside(ctx.layout.root, file.path.parent)
            write_if_changed(file.path, file.data)
        return [file.path for file in files]

    def dataset_files(self, ctx: DatasetContext) -> list[JsonFile]:
        """Every label file the dataset holds, with its bytes (from the kept labels)."""
        store = LabelStore(StateLayout(ctx.layout.root))
        return self.files_of_labels(ctx, store.index(), store.load_all())

    def files_of_labels(
        self, ctx: DatasetContext, index: Index, tracks: dict[tuple[str, str], Tracks]
    ) -> list[JsonFile]:
        """The label files ``index`` and ``tracks`` give for the clips of ``ctx``."""
        options: LabelQaOptions = ctx.options_of(self)
        files: list[JsonFile] = []
        grouped = clip_entries(ctx)
        for split, label in sorted(grouped, key=lambda g: (g[0], Duration.parse(g[1]))):
            if options.covers(split, label):
                entries = sorted(grouped[(split, label)], key=lambda e: (e.sequence, e.record.clip))
                files += _group_files(ctx, options, split, label, entries, index, tracks)
        return files

    def follow_ups(
        self, ctx: DatasetContext, entries: list[ClipEntry], options: Any
    ) -> dict[str, FollowUp]:
        """With ``--merge-labels``: each clip's label questions and answers."""
        if not options.merge_labels:
            return {}
        tracks = LabelStore(StateLayout(ctx.layout.root)).load_all()
        found = {}
        for entry in entries:
            questions = _questions(entry, options, tracks)
            if questions:
                turns = tuple(t for q in questions for t in _turns(q, first=False))
                meta = tuple(q.meta() for q in questions)
                found[entry_id(entry)] = FollowUp(turns, LABEL_META, meta)
        return found


LABEL_QA = LabelQaKind(
    "label_qa",
    per_dataset=True,
    default=False,
    depends_on=(*WINDOWS, "rectify_events"),
    options_type=LabelQaOptions,
    title="questions answered from DSEC-Detection's labels",
    checked_by="its bytes equal what the kept labels and the manifest give",
)


def collect(ctx: DatasetContext) -> Index:
    """Read, check and keep every built sequence's labels; one bad file fails alone."""
    store = LabelStore(StateLayout(ctx.layout.root))
    index, tracks = read_labels(ctx)
    for (split, sequence), found in sorted(tracks.items()):
        store.save(split, sequence, found)
    store.save_index(index)
    store.forget_others(index)
    return index


def read_labels(ctx: DatasetContext) -> tuple[Index, dict[tuple[str, str], Tracks]]:
    """Every sequence's labels from the DSEC root (read only), in the build's view, and
    what was found per sequence: labels, none, or a file that failed (logged)."""
    view = _view(ctx)
    index: Index = {}
    tracks: dict[tuple[str, str], Tracks] = {}
    for split, sequence in sorted(ctx.records):
        folder = sequence_folder(ctx.dsec_root, split, sequence)
        try:
            found = sequence_labels(folder, ctx.camera, view == RECTIFIED)
        except InputError as exc:
            log.error("%s/%s: %s", split, sequence, exc)
            index[(split, sequence)] = SequenceLabels(FAILED, view, str(exc))
            continue
        index[(split, sequence)] = SequenceLabels(MISSING if found is None else FOUND, view)
        if found is not None:
            tracks[(split, sequence)] = found
    return index, tracks


def planned_labels(ctx: DatasetContext) -> dict[tuple[str, str], Cost]:
    """Files and bytes of the label files, per split and duration, from the planned
    clips and the labels in the DSEC root."""
    return cost_by_group(ctx, LABEL_QA.files_of_labels(ctx, *read_labels(ctx)))


def _questions(
    entry: ClipEntry, options: LabelQaOptions, tracks: dict[tuple[str, str], Tracks]
) -> list[Question]:
    found = tracks.get((entry.split, entry.sequence))
    if found is None or not options.covers(entry.split, entry.record.duration):
        return []
    r = entry.record
    return clip_questions(found, r.t0, r.t1, options.tasks, options.seed, entry_id(entry))


def _turns(q: Question, first: bool = True) -> list[dict[str, str]]:
    human = f"{EVENT_TOKEN}\n{q.question}" if first else q.question
    return [{"from": "human", "value": human}, {"from": "gpt", "value": q.answer}]


def _group_files(
    ctx: DatasetContext,
    options: LabelQaOptions,
    split: str,
    label: str,
    entries: list[ClipEntry],
    index: Index,
    tracks: dict[tuple[str, str], Tracks],
) -> list[JsonFile]:
    """One split and duration: its label entries, multiple-choice items and summary."""
    layout, duration = ctx.layout, Duration.parse(label)
    entries_out: list[dict[str, Any]] = []
    choices: list[dict[str, Any]] = []
    asked: list[Question] = []
    with_labels = 0
    for entry in entries:
        questions = _questions(entry, options, tracks)
        with_labels += (entry.split, entry.sequence) in tracks
        if not questions:
            continue
        clip = eventgpt_item(entry, ctx, ("",), in_kind_folder)
        del clip["id"], clip["conversations"]
        for q in questions:
            entries_out.append(
                {"id": q.id, **clip, "conversations": _turns(q), "answer_meta": q.meta()}
            )
            if options.multiple_choice and q.options:
                choices.append(_choice(q, clip))
        asked += questions
    summary = _summary(options, index, split, entries, with_labels, asked, _view_of(index, split))
    folders = {kind.name: layout.kind_dir(split, duration, kind) for kind, _ in ctx.kinds}
    files = [JsonFile(layout.label_summary_json(split, duration), _json(summary))]
    if entries_out:
        files.append(
            JsonFile(layout.label_qa_json(split, duration), render_json(entries_out), folders)
        )
    if choices:
        files.append(JsonFile(layout.label_mc_json(split, duration), render_json(choices), folders))
    return files


def _choice(q: Question, clip: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": q.id,
        "task": q.task,
        "class": q.fact.class_name,
        "question": q.choice_question,
        "options": list(q.options),
        "answer": q.right,
        **clip,
    }


def _view_of(index: Index, split: str) -> str:
    views = {found.view for (s, _), found in index.items() if s == split and found.view}
    return ",".join(sorted(views))


def _summary(
    options: LabelQaOptions,
    index: Index,
    split: str,
    entries: list[ClipEntry],
    with_labels: int,
    asked: list[Question],
    view: str,
) -> dict[str, Any]:
    sequences = sorted({e.sequence for e in entries})
    status = {q: index.get((split, q), SequenceLabels(MISSING)) for q in sequences}
    return {
        "tasks": list(options.tasks),
        "seed": options.seed,
        "view": view,
        "clips": len(entries),
        "clips_with_labels": with_labels,
        "clips_asked": len({q.id.rsplit("_", 2)[0] for q in asked}),
        **summarize(asked),
        "sequences_with_labels": [q for q in sequences if status[q].status == FOUND],
        "sequences_without_labels": [q for q in sequences if status[q].status == MISSING],
        "sequences_failed": {q: status[q].problem for q in sequences if status[q].status == FAILED},
    }


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def stale_label_files(
    layout: OutputLayout, splits: list[str], wanted: list[JsonFile]
) -> list[Path]:
    """Label files on disk the dataset no longer holds."""
    keep = {f.path for f in wanted}
    found = [d / name for s in splits for d in layout.duration_dirs(s) for name in LABEL_FILES]
    return [path for path in found if path.is_file() and path not in keep]


def read_summaries(
    layout: OutputLayout, splits: list[str]
) -> list[tuple[str, str, dict[str, Any]]]:
    """(split, duration, summary) of every label summary on disk, in output order."""
    found = []
    for split in sorted(splits):
        for folder in layout.duration_dirs(split):
            label = layout.locate(folder / "x").duration
            path = layout.label_summary_json(split, Duration.parse(label))
            try:
                found.append((split, label, json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError):
                continue
    return sorted(found, key=lambda f: (f[0], Duration.parse(f[1])))


def label_configs(layout: OutputLayout, splits: list[str]) -> list[HfConfig]:
    """Hugging Face configs of the label files: ``labels_<d>`` and ``labels_mc_<d>``."""
    found: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for split in sorted(splits):
        for folder in layout.duration_dirs(split):
            duration = Duration.parse(layout.locate(folder / "x").duration)
            for prefix, path in (
                (LABELS_PREFIX, layout.label_qa_json(split, duration)),
                (CHOICES_PREFIX, layout.label_mc_json(split, duration)),
            ):
                if path.is_file():
                    rel = path.relative_to(layout.root).as_posix()
                    found[(prefix, duration.label)].append((split, rel))
    configs = []
    for prefix, trainer in ((LABELS_PREFIX, LABELS_TRAINER), (CHOICES_PREFIX, CHOICES_TRAINER)):
        labels = sorted((d for p, d in found if p == prefix), key=Duration.parse)
        configs += [HfConfig(f"{prefix}{d}", trainer, found[(prefix, d)]) for d in labels]
    return configs
