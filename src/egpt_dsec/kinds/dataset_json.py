"""``json``: the files trainers load, written once per build from the manifest.

Per split and duration: EventGPT's ``EventGPT_Instruction_Subset.json`` and Video-LLaVA's
``videollava.json`` (paths relative to each kind's folder, EventGPT's convention), plus
``annotations.provenance.json`` once answers exist; per split, ``dataset.json`` and
``videollava.json`` over all durations (paths relative to the split folder). A list with
no entry is not written: an empty ``[]`` breaks loaders that glob the files. Each kind
gives its own keys of an entry (``Kind.entry_fields``) and may append turns after the
answer (``Kind.follow_ups``: ``label_qa``'s questions with ``--merge-labels``); entries
are sorted and ids derive from names, so the bytes are the same on every run.
``dataset_files`` is pure given its inputs: ``verify`` compares the files on disk with
exactly what it gives.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from egpt_dsec.answers.active import AnswerSet
from egpt_dsec.durations import Duration
from egpt_dsec.fs import ensure_inside, remove_path, remove_stale_temps, write_if_changed
from egpt_dsec.kinds.base import WINDOWS, ClipEntry, DatasetContext, FollowUp, Kind, Place
from egpt_dsec.kinds.contexts import Cost
from egpt_dsec.kinds.mp4 import MP4
from egpt_dsec.layout.dsec import SequenceFiles, sequence_folder
from egpt_dsec.layout.output import ANNOTATION_FILES, PROVENANCE_JSON, OutputLayout, clip_name
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.options import option
from egpt_dsec.writers.annotations import (
    EVENT_TOKEN,
    VIDEO_TOKEN,
    VIDEOLLAVA_PATH_KEY,
    Items,
    choose_question,
    conversation,
    render_json,
)

DEFAULT_QUESTIONS: tuple[str, ...] = (
    "Describe what happens in this event stream.",
    "What objects are moving in the scene, and how?",
    "Summarize the motion captured by the event camera.",
    "What is the camera observing in this clip?",
)
Pair = tuple[Items, Items]  # (EventGPT items, Video-LLaVA items)


def read_questions(path: Path) -> tuple[str, ...]:
    """One question per line; blank lines are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(
            f"--questions {path}: cannot be read ({exc.strerror or exc}); "
            "give a text file with one question per line"
        ) from None
    questions = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not questions:
        raise ValueError(f"--questions {path}: the file holds no question (one per line)")
    return questions


@dataclass(frozen=True)
class JsonOptions:
    questions: tuple[str, ...] = option(
        DEFAULT_QUESTIONS,
        flag="--questions",
        help="text file, one question per line, for the human turn",
        example="questions.txt",
        parse=Path,
        to_value=read_questions,
        show=lambda q: f"the {len(q)} built-in questions",
        metavar="FILE",
    )

    def __post_init__(self) -> None:
        if not self.questions:
            raise ValueError("the question list is empty")


@dataclass(frozen=True)
class JsonFile:
    """One file of the dataset and its exact bytes. For the entry lists, ``folders`` says
    which folder each kind's entry paths are relative to (``verify`` resolves them)."""

    path: Path
    data: bytes
    folders: dict[str, Path] = field(default_factory=dict)


def in_kind_folder(entry: ClipEntry, kind: Kind, rel: str) -> str:
    """A duration's own files: paths relative to each kind's folder."""
    return rel


def entry_id(entry: ClipEntry) -> str:
    return f"{entry.sequence}_{entry.record.duration}_{clip_name(entry.record.clip)}"


class JsonKind(Kind):
    def dataset_files(self, ctx: DatasetContext, answers: AnswerSet | None) -> list[JsonFile]:
        """Every JSON file the dataset holds, with its bytes."""
        layout, grouped = ctx.layout, clip_entries(ctx)
        files: list[JsonFile] = []
        for split in sorted(set(ctx.splits) | {s for s, _ in grouped}):
            combined: Pair = ([], [])
            for label in sorted({d for s, d in grouped if s == split}, key=Duration.parse):
                found, pair = _duration_files(ctx, answers, split, label, grouped[(split, label)])
                files += found
                combined[0].extend(pair[0])
                combined[1].extend(pair[1])
            folders = {kind.name: layout.split_dir(split) for kind, _ in ctx.kinds}
            files += _lists(layout.split_dataset_json(split), layout.split_videollava_json(split),
                            combined, folders)  # fmt: skip
        return files

    def publish(self, ctx: DatasetContext) -> list[Path]:
        """Write every JSON file atomically and remove stale ones; the files written."""
        files = self.dataset_files(ctx, AnswerSet.load(StateLayout(ctx.layout.root)))
        for path in stale_files(ctx.layout, ctx.splits, files):
            remove_path(path)
        for file in files:
            ensure_inside(ctx.layout.root, file.path.parent)
            remove_stale_temps(file.path.parent)
            write_if_changed(file.path, file.data)
        return [file.path for file in files]


JSON = JsonKind(
    "json",
    per_dataset=True,
    depends_on=WINDOWS,
    options_type=JsonOptions,
    title="the EventGPT and Video-LLaVA JSON files",
    checked_by="lists exactly the finished non-empty clips, every path it names exists, and "
    "its bytes equal what the manifest gives",
)


def planned_json(ctx: DatasetContext) -> dict[tuple[str, str], Cost]:
    """Files and bytes of the JSON files (no answers yet), per split and duration."""
    return cost_by_group(ctx, JSON.dataset_files(ctx, None))


def cost_by_group(ctx: DatasetContext, files: list[JsonFile]) -> dict[tuple[str, str], Cost]:
    """Files and bytes of per-dataset files, per split and duration; a split's combined
    files are counted with its shortest duration."""
    rows: dict[tuple[str, str], Cost] = {}
    labels: dict[str, list[Duration]] = defaultdict(list)
    for file in files:
        at = ctx.layout.locate(file.path)
        if at.duration:
            labels[at.split].append(Duration.parse(at.duration))
    shortest = {split: min(found).label for split, found in labels.items()}
    for file in files:
        at = ctx.layout.locate(file.path)
        key = (at.split, at.duration or shortest.get(at.split, ""))
        old = rows.get(key, Cost())
        rows[key] = Cost(old.files + 1, old.bytes + len(file.data))
    return rows


def clip_entries(ctx: DatasetContext) -> dict[tuple[str, str], list[ClipEntry]]:
    """(split, duration label) -> the non-empty finished clips, as the JSON describes them."""
    grouped: dict[tuple[str, str], list[ClipEntry]] = defaultdict(list)
    for (split, sequence), clips in ctx.records.items():
        events_file = _events_file(ctx, split, sequence)
        for record in clips.values():
            if not record.empty:
                grouped[(split, record.duration)].append(
                    ClipEntry(split, sequence, record, events_file)
                )
    return grouped


def _events_file(ctx: DatasetContext, split: str, sequence: str) -> str:
    """The sequence's events.h5 relative to the DSEC root (``event_ref`` entries name it)."""
    folder = sequence_folder(ctx.dsec_root, split, sequence)
    return SequenceFiles(folder, ctx.camera).events_h5.relative_to(ctx.dsec_root).as_posix()


def eventgpt_item(
    entry: ClipEntry, ctx: DatasetContext, questions: tuple[str, ...], place: Place
) -> dict[str, Any]:
    r = entry.record
    item: dict[str, Any] = {
        "id": entry_id(entry),
        "split": entry.split,
        "sequence": entry.sequence,
        "clip": clip_name(r.clip),
        "duration": r.duration,
        "time_start": r.t0,
        "time_end": r.t1,
        "num_events": r.num_events,
    }
    for kind, options in ctx.kinds:
        if kind.name in r.components:
            item.update(kind.entry_fields(entry, place, options))
    item["conversations"] = conversation(EVENT_TOKEN, choose_question(item["id"], questions))
    return item


def videollava_item(entry: ClipEntry, questions: tuple[str, ...], place: Place) -> dict[str, Any]:
    entry_key = entry_id(entry)
    return {
        "id": entry_key,
        VIDEOLLAVA_PATH_KEY: place(entry, MP4, MP4.clip_rel(entry.sequence, entry.record.clip)),
        "conversations": conversation(VIDEO_TOKEN, choose_question(entry_key, questions)),
    }


def annotation_items(
    entries: list[ClipEntry], ctx: DatasetContext, place: Place = in_kind_folder
) -> Pair:
    """(EventGPT items, Video-LLaVA items of the clips with an MP4), in a stable order."""
    questions = ctx.options_of(JSON).questions
    ordered = sorted(
        entries, key=lambda e: (Duration.parse(e.record.duration), e.sequence, e.record.clip)
    )
    mp4 = ctx.options_of(MP4)
    with_mp4 = [e for e in ordered if MP4.has_files(e.record, mp4)]
    return (
        [eventgpt_item(e, ctx, questions, place) for e in ordered],
        [videollava_item(e, questions, place) for e in with_mp4],
    )


def _duration_files(
    ctx: DatasetContext,
    answers: AnswerSet | None,
    split: str,
    label: str,
    entries: list[ClipEntry],
) -> tuple[list[JsonFile], Pair]:
    """One duration's files, and its items for the split's combined files."""
    layout, duration = ctx.layout, Duration.parse(label)

    def in_split_folder(entry: ClipEntry, kind: Kind, rel: str) -> str:
        return layout.split_rel(split, duration, kind, rel)

    own = annotation_items(entries, ctx)
    combined = annotation_items(entries, ctx, in_split_folder)
    files = []
    if answers is not None and answers.covers(split, label):
        outcomes = answers.outcomes(split, label, [entry_id(e) for e in entries])
        own, combined = answers.apply(own, outcomes), answers.apply(combined, outcomes)
        files.append(JsonFile(layout.provenance_json(split, duration), answers.provenance(
            split, label, outcomes)))  # fmt: skip
    follow = _follow_ups(ctx, entries)
    own, combined = (
        (_followed(own[0], follow), own[1]),
        (_followed(combined[0], follow), combined[1]),
    )
    folders = {kind.name: layout.kind_dir(split, duration, kind) for kind, _ in ctx.kinds}
    files += _lists(layout.eventgpt_json(split, duration), layout.videollava_json(split, duration),
                    own, folders)  # fmt: skip
    return files, combined


def _follow_ups(ctx: DatasetContext, entries: list[ClipEntry]) -> dict[str, list[FollowUp]]:
    """What every kind the output holds appends to these clips' conversations."""
    found: dict[str, list[FollowUp]] = defaultdict(list)
    for kind, options in ctx.kinds:
        for key, follow_up in kind.follow_ups(ctx, entries, options).items():
            found[key].append(follow_up)
    return found


def _followed(items: Items, follow: dict[str, list[FollowUp]]) -> Items:
    """EventGPT items with the follow-up turns after their answer (new dicts)."""
    if not follow:
        return items
    out = []
    for item in items:
        extra = follow.get(item["id"], [])
        if extra:
            item = dict(item)
            item["conversations"] = [*item["conversations"], *(t for f in extra for t in f.turns)]
            for f in extra:
                item[f.meta_key] = [*item.get(f.meta_key, []), *f.meta]
        out.append(item)
    return out


def _lists(
    eventgpt: Path, videollava: Path, pair: Pair, folders: dict[str, Path]
) -> list[JsonFile]:
    return [
        JsonFile(path, render_json(items), folders)
        for path, items in ((eventgpt, pair[0]), (videollava, pair[1]))
        if items
    ]


def stale_files(layout: OutputLayout, splits: list[str], wanted: list[JsonFile]) -> list[Path]:
    """Annotation files on disk that the dataset no longer holds (a duration whose clips
    all turned out empty, answers that filter every clip out, a file of 0.1.0)."""
    keep = {f.path for f in wanted}
    names = (*ANNOTATION_FILES, PROVENANCE_JSON)
    folders = [f for s in splits for f in (layout.split_dir(s), *layout.duration_dirs(s))]
    found = [folder / name for folder in folders for name in names]
    return [path for path in found if path.is_file() and path not in keep]
