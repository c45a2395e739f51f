"""The JSON files: each holds exactly the bytes the manifest and the active answers give
(the build's own writer says what they are), every path an entry names exists, and no
stale file is left.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from egpt_dsec.answers.active import AnswerSet
from egpt_dsec.config.record import dataset_context
from egpt_dsec.kinds import FILE_KINDS, JSON, MP4, VIDEO, Kind
from egpt_dsec.kinds.base import Records
from egpt_dsec.kinds.dataset_json import JsonFile, stale_files
from egpt_dsec.kinds.event_ref import EVENT_SOURCE_KEY
from egpt_dsec.layout.output import VIDEOLLAVA_JSON
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.reports.verify.built import Built
from egpt_dsec.reports.verify.report import Problem
from egpt_dsec.writers.annotations import VIDEOLLAVA_PATH_KEY

# Entry keys holding paths, and the kind whose folder each path is relative to.
_PATH_KEYS: dict[str, Kind] = {kind.entry_key: kind for kind in FILE_KINDS}
_VIDEOLLAVA_PATH_KEYS: dict[str, Kind] = {VIDEOLLAVA_PATH_KEY: MP4}

_Found = tuple[Path, str, int, str]  # path, sequence, clip (-1: the whole file), what


def json_problems(
    state: StateLayout, records: Records, built: Built, dsec_root: Path | None
) -> tuple[list[Problem], int]:
    """Problems of every JSON file of the dataset, and how many files were checked."""
    config = built.of(JSON)
    layout = config.output
    splits = sorted({split for split, _ in records})
    expected = JSON.dataset_files(dataset_context(config, splits), AnswerSet.load(state))
    problems: list[Problem] = []
    for file in expected:
        at = layout.locate(file.path)
        for path, sequence, clip, what in _file_problems(file, records, dsec_root):
            problems.append(Problem(path, JSON.name, at.split, sequence, at.duration, clip, what))
    for path in stale_files(layout, splits, expected):
        at = layout.locate(path)
        what = "stale: the dataset holds no such file now"
        problems.append(Problem(path, JSON.name, at.split, "", at.duration, -1, what))
    return problems, len(expected)


def _file_problems(file: JsonFile, records: Records, dsec_root: Path | None) -> list[_Found]:
    if not file.path.is_file():
        return [(file.path, "", -1, "missing")]
    try:
        data = file.path.read_bytes()
    except OSError as exc:
        return [(file.path, "", -1, f"cannot be read ({exc})")]
    if data == file.data:
        return []  # exactly what the build writes: its paths are the records' own
    found: list[_Found] = [(file.path, "", -1, "differs from what the manifest and answers give")]
    if file.folders:
        found += _entry_problems(file, data, dsec_root)
    return found


def _entry_problems(file: JsonFile, data: bytes, dsec_root: Path | None) -> list[_Found]:
    """For a changed list: each path an entry names exists (a missing one is reported
    as that clip's problem, so ``--fix`` rebuilds the clip)."""
    try:
        items = json.loads(data)
    except ValueError as exc:
        return [(file.path, "", -1, f"cannot be parsed ({exc})")]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return [(file.path, "", -1, "is not a list of entries")]
    keys = _VIDEOLLAVA_PATH_KEYS if file.path.name == VIDEOLLAVA_JSON else _PATH_KEYS
    found: list[_Found] = []
    for item in items:
        sequence, clip = str(item.get("sequence", "")), _clip_of(item)
        for key, kind in keys.items():
            for rel in _as_list(item.get(key)):
                target = _entry_path(file.folders[kind.name], rel)
                if target is None or not (target.is_dir() if kind is VIDEO else target.is_file()):
                    what = f"{file.path.name} entry {item.get('id')}: {key} {rel!r} missing"
                    found.append((target or file.path, sequence, clip, what))
        bad = _event_source_problem(item.get(EVENT_SOURCE_KEY), dsec_root)
        if bad:
            found.append((file.path, "", -1, f"entry {item.get('id')}: {bad}"))
    return found


def _clip_of(item: dict[str, Any]) -> int:
    try:
        return int(item.get("clip", -1))
    except (TypeError, ValueError):
        return -1


def _event_source_problem(source: object, dsec_root: Path | None) -> str | None:
    """A ref-format entry points at an events file under the DSEC root."""
    if source is None or dsec_root is None:
        return None
    rel = source.get("relative_to_dsec_root") if isinstance(source, dict) else None
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
