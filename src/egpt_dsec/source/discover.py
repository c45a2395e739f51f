"""Find DSEC sequences under a root, in either of the two official layouts."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from egpt_dsec.layout.dsec import (
    EXPECTED_LAYOUT,
    SYNTH_COMMAND,
    SequenceFiles,
    looks_like_sequence,
    split_folder,
    synthetic_marker,
)
from egpt_dsec.source.errors import InputError

# Names become folder names in the output: only plain names, never paths.
log = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_safe_name(name: str, what: str, path: Path) -> None:
    """Refuse a split or sequence name that could leave OUT or confuse a shell or a JSON path.

    ``fullmatch``, not ``match`` with ``$``: ``$`` also matches before a trailing newline.
    """
    if not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise InputError(
            path,
            f"{what} name {name!r} is not a plain name (letters, digits, _ . -)",
            "rename the folder; names become output folder names and may not contain paths",
        )


@dataclass(frozen=True)
class SequenceSource:
    """Where one DSEC sequence's files are; nothing is opened here."""

    split: str
    name: str
    folder: Path
    camera: str = "left"

    @property
    def key(self) -> str:
        return f"{self.split}/{self.name}"

    @property
    def files(self) -> SequenceFiles:
        return SequenceFiles(self.folder, self.camera)


def discover_sequences(
    root: Path,
    splits: tuple[str, ...] | None = None,
    sequences: tuple[str, ...] | None = None,
    camera: str = "left",
) -> list[SequenceSource]:
    """All sequences under ``root/<split>/``, sorted by split then name.

    A root one level off (a split, a sequence, or the folder above the root) is refused
    with the folder to pass instead; a folder inside a split that is no sequence is
    skipped with a warning.
    """
    available = _split_names(root)
    chosen = list(splits) if splits else available
    missing = [s for s in chosen if s not in available]
    if missing:
        raise InputError(
            root,
            f"split folder(s) {missing} not found (have {available})",
            "check --splits and that the DSEC archives were unzipped into <root>/<split>/",
        )
    found: list[SequenceSource] = []
    for split in chosen:
        check_safe_name(split, "split", split_folder(root, split))
        for folder in sorted(split_folder(root, split).iterdir()):
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            if sequences and folder.name not in sequences:
                continue
            if not looks_like_sequence(folder):
                log.warning("%s: not a DSEC sequence (no images/ or events/); skipped", folder)
                continue
            check_safe_name(folder.name, "sequence", folder)
            found.append(SequenceSource(split, folder.name, folder, camera))
    if sequences:
        unknown = set(sequences) - {s.name for s in found}
        if unknown:
            raise InputError(
                root, f"sequence(s) {sorted(unknown)} not found", "check --sequences and --splits"
            )
    return found


def synthetic_specs(root: Path) -> tuple[str, ...] | None:
    """The ``egpt-dsec synth`` commands that made ``root`` (its marker's), or None when
    the root has no marker: real DSEC. A marker naming no command is still synthetic."""
    marker = synthetic_marker(root)
    try:
        text = marker.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None if not marker.exists() else ()
    lines = (line.strip() for line in text.splitlines())
    return tuple(line for line in lines if line.startswith(f"{SYNTH_COMMAND} "))


def source_record(specs: tuple[str, ...] | None) -> bytes:
    """:func:`synthetic_specs` as the bytes of a record kept beside the output."""
    data = {"synthetic": specs is not None, "synth_commands": list(specs or ())}
    return json.dumps(data, indent=1, sort_keys=True).encode()


def recall_source(record: Path) -> tuple[str, ...] | None:
    """:func:`synthetic_specs` as remembered in ``record`` (None: real DSEC, or never
    recorded)."""
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        return tuple(data["synth_commands"]) if data["synthetic"] else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _is_split(folder: Path) -> bool:
    return any(looks_like_sequence(child) for child in _subfolders(folder))


def _split_names(root: Path) -> list[str]:
    """The split folders of a DSEC root, or an InputError naming the folder to pass."""
    if not root.is_dir():
        raise InputError(root, "DSEC root folder does not exist", "pass --dsec-root <folder>")
    splits = [p.name for p in _subfolders(root) if _is_split(p)]
    if splits:
        return splits
    if looks_like_sequence(root):
        fix = f"this is one sequence: pass the DSEC root, {root.parent.parent}"
    elif _is_split(root):
        fix = f"this is a split folder: pass its parent, {root.parent}"
    else:
        below = [p for p in _subfolders(root) if any(_is_split(q) for q in _subfolders(p))]
        fix = (
            f"the DSEC root seems to be one level down: pass {below[0]}"
            if below
            else f"expected {EXPECTED_LAYOUT} (see the README, Getting DSEC)"
        )
    raise InputError(root, "no DSEC sequences found here", fix)
