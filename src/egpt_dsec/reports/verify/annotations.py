"""The JSON files: each lists exactly the non-empty clips, and every path it names exists.

When their bytes follow from the manifest (npy format, recorded questions) they must also
equal what a build would write, which catches stale and hand-edited files.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import Duration
from egpt_dsec.kinds import EVENT_NPY, FILE_KINDS, JSON, MP4, VIDEO, OutputKind
from egpt_dsec.layout.output import OutputLayout
from egpt_dsec.reports.verify.built import Built
from egpt_dsec.reports.verify.report import Problem
from egpt_dsec.state.manifest import ClipKey, ClipRecord, Manifest
from egpt_dsec.writers.annotations import VIDEOLLAVA_PATH_KEY, ClipEntry, annotation_files

# Entry keys holding paths, and the kind whose folder each path is relative to.
_DATASET_PATH_KEYS: dict[str, OutputKind] = {kind.entry_key: kind for kind in FILE_KINDS}
_VIDEOLLAVA_PATH_KEYS: dict[str, OutputKind] = {VIDEOLLAVA_PATH_KEY: MP4}

_Found = tuple[Path, str, int, str]  # path, sequence, clip (-1: the whole file), what


@dataclass(frozen=True)
class _JsonFile:
    """One JSON file to check and what it should hold."""

    path: Path
    expected: list[ClipEntry]
    want: bytes | None  # its exact bytes, when they follow from the manifest
    folders: dict[str, Path]  # kind -> the folder its entry paths are relative to
    videollava: bool


def json_problems(
    layout: OutputLayout,
    manifest: Manifest,
    records: dict[tuple[str, str], dict[ClipKey, ClipRecord]],
    built: Built,
    dsec_root: Path | None,
) -> tuple[list[Problem], int]:
    """Problems of every JSON the build wrote, and how many files were checked."""
    config = replace(built.of(JSON), event_format=built.of(EVENT_NPY).event_format)
    entries: dict[tuple[str, str], list[ClipEntry]] = defaultdict(list)
    for (split, sequence), clips in records.items():
        for record in clips.values():
            if not record.empty:
                entries[(split, record.duration)].append(ClipEntry(split, sequence, record))
    problems: list[Problem] = []
    checked = 0
    for split, label in sorted(manifest.annotated()):
        try:
            duration = Duration.parse(label)
        except ValueError:
            continue
        expected = entries.get((split, label), [])
        # In ref format the bytes also hold the DSEC root as the build spelled it, so
        # only the entries are checked.
        want: tuple[bytes | None, bytes | None] = (None, None)
        if config.event_format == "npy":
            want = annotation_files(expected, config.questions)
        with_mp4 = [e for e in expected if MP4.name in e.record.components]
        folders = {k.name: layout.kind_dir(split, duration, k) for k in FILE_KINDS}
        files = (
            _JsonFile(layout.dataset_json(split, duration), expected, want[0], folders, False),
            _JsonFile(layout.videollava_json(split, duration), with_mp4, want[1], folders, True),
        )
        for file in files:
            checked += bool(file.expected or file.path.exists())
            found = _file_problems(file, config, dsec_root)
            problems += [
                Problem(at, JSON.name, split, sequence, label, clip, what)
                for at, sequence, clip, what in found
            ]
    return problems, checked


def _file_problems(file: _JsonFile, config: BuildConfig, dsec_root: Path | None) -> list[_Found]:
    path, expected, videollava = file.path, file.expected, file.videollava
    if not path.is_file():
        return [] if videollava and not expected else [(path, "", -1, "missing")]
    if videollava and not expected:
        return [(path, "", -1, "stale: no clip of this duration has an MP4")]
    try:
        data = path.read_bytes()
        items = json.loads(data)
    except (OSError, ValueError) as exc:
        return [(path, "", -1, f"cannot be read or parsed ({exc})")]
    what = _ids_problem(items, expected)
    if what:
        return [(path, "", -1, what)]
    by_id = {e.id: e for e in expected}
    found: list[_Found] = []
    for item in items:
        found += _entry_problems(file, item, by_id[str(item["id"])], config, dsec_root)
    if not found and file.want is not None and data != file.want:
        found.append((path, "", -1, "differs from what the manifest gives (stale or edited)"))
    return found


def _ids_problem(items: Any, expected: list[ClipEntry]) -> str | None:
    """The file lists each expected clip once, and nothing else."""
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return "is not a list of entries"
    want = {e.id for e in expected}
    got = [str(item.get("id")) for item in items]
    missing, extra = sorted(want - set(got)), sorted(set(got) - want)
    parts = [f"{len(missing)} clip(s) missing (e.g. {missing[0]})"] if missing else []
    parts += [f"{len(extra)} entry(ies) not in the manifest (e.g. {extra[0]})"] if extra else []
    parts += ["repeated ids"] if len(got) != len(set(got)) else []
    return "; ".join(parts) or None


def _entry_problems(
    file: _JsonFile,
    item: dict[str, Any],
    entry: ClipEntry,
    config: BuildConfig,
    dsec_root: Path | None,
) -> list[_Found]:
    """Each path an entry names exists (a bad one is reported as that file's problem)."""
    found: list[_Found] = []
    for key, kind in (_VIDEOLLAVA_PATH_KEYS if file.videollava else _DATASET_PATH_KEYS).items():
        for rel in _as_list(item.get(key)):
            target = _entry_path(file.folders[kind.name], rel)
            if target is None or not (target.is_dir() if kind is VIDEO else target.is_file()):
                what = f"{file.path.name} entry {entry.id}: {key} {rel!r} missing"
                found.append((target or file.path, entry.sequence, entry.record.clip, what))
    if not file.videollava and config.event_format == "ref":
        bad = _event_source_problem(item.get("event_source"), entry.record, dsec_root)
        if bad:
            found.append((file.path, "", -1, f"entry {entry.id}: {bad}"))
    return found


def _event_source_problem(source: object, record: ClipRecord, dsec_root: Path | None) -> str | None:
    """A ref-format entry points at the record's index range of an existing events file."""
    if not isinstance(source, dict):
        return "event_source missing"
    span = (source.get("start"), source.get("stop"))
    if span != (record.event_start, record.event_start + record.num_events):
        return f"event_source range {span} differs from the manifest"
    if dsec_root is None:
        return None
    rel = source.get("relative_to_dsec_root")
    target = _entry_path(dsec_root, rel)
    if target is None or not target.is_file():
        return f"event_source {rel!r} is not a file under {dsec_root}"
    return None


def _as_list(value: object) -> list[object]:
    """A path key holds one path or a list of them (event images); absent is none."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _entry_path(folder: Path, rel: object) -> Path | None:
    """A JSON path resolved under its folder; None if it could escape it."""
    if not isinstance(rel, str) or not rel or os.path.isabs(rel) or ".." in Path(rel).parts:
        return None
    return folder / rel
