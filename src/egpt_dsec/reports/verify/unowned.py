"""Files in the kinds' folders that no clip record owns: copied in by hand, left by a clip
a crash never recorded or a repair forgot, or of a duration or sequence not built.

Each per-clip kind's folder of every duration folder is listed once; a name is owned when
a record of its sequence, duration and clip index exists and the kind claims the name as
that clip's (``Kind.files_of``). Anything else is a problem of that kind, owned by no clip,
so ``verify --fix`` deletes it and forgets no record. Temp names are left to the temp check.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from egpt_dsec.durations import Duration
from egpt_dsec.fs import is_temp_name
from egpt_dsec.kinds import FILE_KINDS, CheckTask, Kind
from egpt_dsec.layout.output import OutputLayout, clip_index
from egpt_dsec.reports.verify.report import Problem
from egpt_dsec.state.manifest import ClipKey, ClipRecord

Records = dict[tuple[str, str], dict[ClipKey, ClipRecord]]  # (split, sequence) -> records


def unowned_problems(layout: OutputLayout, records: Records, splits: list[str]) -> list[Problem]:
    """Every file or folder of a per-clip kind's folder, in ``splits``, that no record owns."""
    problems = []
    for split in splits:
        for folder in layout.duration_dirs(split):
            label = layout.locate(folder / "x").duration
            for kind in FILE_KINDS:
                problems += _kind_folder(layout, split, label, kind, records)
    return problems


def _kind_folder(
    layout: OutputLayout, split: str, label: str, kind: Kind, records: Records
) -> list[Problem]:
    """A kind's folder holds one folder per sequence, and nothing else."""
    folder = layout.kind_dir(split, Duration.parse(label), kind)
    problems = []
    for name, is_dir in _entries(folder):
        if is_dir:
            owned = records.get((split, name), {})
            problems += _sequence_folder(layout, split, label, kind, name, owned)
        else:
            what = f"not in a sequence folder: no clip owns it ({kind.name} files are <sequence>/…)"
            problems.append(Problem(folder / name, kind.name, split, "", label, -1, what))
    return problems


def _sequence_folder(
    layout: OutputLayout,
    split: str,
    label: str,
    kind: Kind,
    sequence: str,
    records: dict[ClipKey, ClipRecord],
) -> list[Problem]:
    """Names grouped by the clip index they spell, so each clip's claim reads only its own."""
    folder = layout.sequence_dir(split, Duration.parse(label), kind, sequence)
    by_clip: dict[int | None, set[str]] = defaultdict(set)
    for name, _ in _entries(folder):
        by_clip[clip_index(kind, name)].add(name)
    problems = []
    for index, names in sorted(
        by_clip.items(), key=lambda item: -1 if item[0] is None else item[0]
    ):
        record = records.get((label, index)) if index is not None else None
        owned: set[str] = set()
        if record is not None:
            task = CheckTask(
                split, sequence, record, layout, {kind.name: frozenset(names)}, None, None
            )
            owned = {path.name for path in kind.files_of(task)}
        for name in sorted(names - owned):
            what = _why(kind, sequence, label, index, record is not None)
            problems.append(Problem(folder / name, kind.name, split, sequence, label, -1, what))
    return problems


def _why(kind: Kind, sequence: str, label: str, index: int | None, recorded: bool) -> str:
    if index is None:
        return f"no clip owns it: not named like {kind.name} clip files ({kind.template})"
    if recorded:
        return f"no clip owns it: named like clip {index}, but not as its {kind.name} files are"
    return f"no clip owns it: {sequence} has no {label} clip {index} in the manifest"


def _entries(folder: Path) -> list[tuple[str, bool]]:
    """(name, is a folder) in ``folder``, temp names left out; none if it is not a folder."""
    try:
        with os.scandir(folder) as found:
            return sorted(
                (entry.name, entry.is_dir(follow_symlinks=False))
                for entry in found
                if not is_temp_name(entry.name)
            )
    except (FileNotFoundError, NotADirectoryError):
        return []
