"""Find DSEC sequences under a root, in either of the two official layouts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from egpt_dsec.layout.dsec import SequenceFiles, split_folder
from egpt_dsec.source.errors import InputError

# Names become folder names in the output: only plain names, never paths.
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
    """All sequences under ``root/<split>/``, sorted by split then name."""
    if not root.is_dir():
        raise InputError(root, "DSEC root folder does not exist", "pass --dsec-root <folder>")
    available = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
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
            check_safe_name(folder.name, "sequence", folder)
            found.append(SequenceSource(split, folder.name, folder, camera))
    if sequences:
        unknown = set(sequences) - {s.name for s in found}
        if unknown:
            raise InputError(
                root, f"sequence(s) {sorted(unknown)} not found", "check --sequences and --splits"
            )
    if not found:
        raise InputError(root, "no sequence folders found", "expected <root>/<split>/<sequence>/")
    return found
