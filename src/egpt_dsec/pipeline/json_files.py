"""Every JSON file of the dataset, from the manifest and the active answers.

Per split and duration: EventGPT's ``EventGPT_Instruction_Subset.json`` and Video-LLaVA's
``videollava.json`` (paths relative to each kind's folder, EventGPT's convention), plus
``annotations.provenance.json`` once answers exist. Per split: ``dataset.json`` and
``videollava.json`` over all durations (paths relative to the split folder). A list
with no entry is not written: an empty ``[]`` breaks loaders that glob the files.

:func:`dataset_files` is pure given its inputs, so ``verify`` compares the files on disk
with exactly what a build would write, answers included.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from egpt_dsec.answers.active import AnswerSet
from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import Duration
from egpt_dsec.fs import ensure_inside, remove_path, remove_stale_temps, write_if_changed
from egpt_dsec.kinds import FILE_KINDS, OutputKind
from egpt_dsec.layout.dsec import SequenceFiles, sequence_folder
from egpt_dsec.layout.output import ANNOTATION_FILES, PROVENANCE_JSON, OutputLayout
from egpt_dsec.state.manifest import ClipKey, ClipRecord
from egpt_dsec.writers.annotations import ClipEntry, Items, annotation_items, render_json

Records = dict[tuple[str, str], dict[ClipKey, ClipRecord]]  # (split, sequence) -> records
Pair = tuple[Items, Items]  # (EventGPT items, Video-LLaVA items)


@dataclass(frozen=True)
class JsonFile:
    """One file of the dataset and its exact bytes. For the entry lists, ``folders`` says
    which folder each kind's entry paths are relative to (``verify`` resolves them)."""

    path: Path
    data: bytes
    folders: dict[str, Path] = field(default_factory=dict)


def clip_entries(config: BuildConfig, records: Records) -> dict[tuple[str, str], list[ClipEntry]]:
    """(split, duration label) -> the non-empty finished clips, as the JSON describes them."""
    grouped: dict[tuple[str, str], list[ClipEntry]] = defaultdict(list)
    for (split, sequence), clips in records.items():
        events_h5 = None
        if config.event_format == "ref":
            folder = sequence_folder(config.dsec_root, split, sequence)
            events_h5 = SequenceFiles(folder, config.camera).events_h5
        for record in clips.values():
            if not record.empty:
                entry = ClipEntry(split, sequence, record, events_h5, config.dsec_root)
                grouped[(split, record.duration)].append(entry)
    return grouped


def dataset_files(
    config: BuildConfig, records: Records, answers: AnswerSet | None, splits: list[str]
) -> list[JsonFile]:
    """Every JSON file the dataset holds, with its bytes."""
    layout, grouped = config.output, clip_entries(config, records)
    files: list[JsonFile] = []
    for split in sorted(set(splits) | {s for s, _ in grouped}):
        combined: Pair = ([], [])
        for label in sorted({d for s, d in grouped if s == split}, key=Duration.parse):
            found, pair = _duration_files(config, answers, split, label, grouped[(split, label)])
            files += found
            combined[0].extend(pair[0])
            combined[1].extend(pair[1])
        folders = {kind.name: layout.split_dir(split) for kind in FILE_KINDS}
        files += _lists(layout.split_dataset_json(split), layout.split_videollava_json(split),
                        combined, folders)  # fmt: skip
    return files


def _duration_files(
    config: BuildConfig,
    answers: AnswerSet | None,
    split: str,
    label: str,
    entries: list[ClipEntry],
) -> tuple[list[JsonFile], Pair]:
    """One duration's files, and its items for the split's combined files."""
    layout, duration = config.output, Duration.parse(label)

    def in_split_folder(entry: ClipEntry, kind: OutputKind, rel: str) -> str:
        return layout.split_rel(split, duration, kind, rel)

    own = annotation_items(entries, config.questions)
    combined = annotation_items(entries, config.questions, in_split_folder)
    files = []
    if answers is not None and answers.covers(split, label):
        outcomes = answers.outcomes(split, label, [e.id for e in entries])
        own, combined = answers.apply(own, outcomes), answers.apply(combined, outcomes)
        files.append(JsonFile(layout.provenance_json(split, duration), answers.provenance(
            split, label, outcomes)))  # fmt: skip
    folders = {kind.name: layout.kind_dir(split, duration, kind) for kind in FILE_KINDS}
    files += _lists(layout.eventgpt_json(split, duration), layout.videollava_json(split, duration),
                    own, folders)  # fmt: skip
    return files, combined


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


def write_dataset_files(
    config: BuildConfig, records: Records, answers: AnswerSet | None, splits: list[str]
) -> list[JsonFile]:
    """Write every JSON file atomically and remove stale ones; returns what was written."""
    files = dataset_files(config, records, answers, splits)
    for path in stale_files(config.output, splits, files):
        remove_path(path)
    for file in files:
        ensure_inside(config.out, file.path.parent)
        remove_stale_temps(file.path.parent)
        write_if_changed(file.path, file.data)
    return files
