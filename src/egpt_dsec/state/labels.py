"""The labels ``label-qa`` read, kept beside the output: each sequence's checked boxes in
the build's view, and what was found per sequence (labels, none, or a malformed file).

Everything after the reading (the label files, their check by ``verify``, the label
turns merged into the conversations, ``status``, ``preview``) reads this copy, so none of
it needs the DSEC root; ``label-qa`` (or a build with ``label_qa``) refreshes it.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from egpt_dsec.fs import write_if_changed
from egpt_dsec.labels.tracks import Tracks
from egpt_dsec.layout.state import StateLayout

FOUND, MISSING, FAILED = "labels", "no labels", "failed"


@dataclass(frozen=True)
class SequenceLabels:
    """What label-qa found for one sequence: ``status`` (FOUND, MISSING or FAILED), the
    view its boxes are in, and the problem of a malformed file."""

    status: str
    view: str = ""
    problem: str = ""


Index = dict[tuple[str, str], SequenceLabels]  # (split, sequence) -> what was found


@lru_cache(maxsize=64)
def _read(path: Path, inode: int, mtime_ns: int, size: int) -> Tracks:
    """A kept file's boxes, read once while it is unchanged (the JSON files ask for
    them once per duration)."""
    return Tracks.from_store(np.load(path, allow_pickle=False))


def _load(path: Path) -> Tracks:
    stat = path.stat()
    return _read(path, stat.st_ino, stat.st_mtime_ns, stat.st_size)


class LabelStore:
    def __init__(self, state: StateLayout) -> None:
        self.state = state

    def index(self) -> Index:
        path = self.state.labels_index
        if not path.is_file():
            return {}
        index: Index = {}
        for key, value in json.loads(path.read_text(encoding="utf-8")).items():
            split, sequence = key.split("/", 1)
            index[(split, sequence)] = SequenceLabels(**value)
        return index

    def save_index(self, index: Index) -> None:
        data = {f"{s}/{q}": vars(found) for (s, q), found in sorted(index.items())}
        write_if_changed(self.state.labels_index, json.dumps(data, indent=1).encode() + b"\n")

    def save(self, split: str, sequence: str, tracks: Tracks) -> None:
        buffer = io.BytesIO()
        np.save(buffer, tracks.to_store(), allow_pickle=False)
        write_if_changed(self.state.labels_file(split, sequence), buffer.getvalue())

    def load(self, split: str, sequence: str) -> Tracks | None:
        """The sequence's boxes, if label-qa found them (in the view the index names)."""
        found = self.index().get((split, sequence))
        path = self.state.labels_file(split, sequence)
        if found is None or found.status != FOUND or not path.is_file():
            return None
        return _load(path)

    def load_all(self) -> dict[tuple[str, str], Tracks]:
        """Every sequence's boxes that label-qa found."""
        out = {}
        for (split, sequence), found in self.index().items():
            path = self.state.labels_file(split, sequence)
            if found.status == FOUND and path.is_file():
                out[(split, sequence)] = _load(path)
        return out

    def forget_others(self, index: Index) -> None:
        """Remove the kept boxes of sequences the index no longer lists."""
        for path in sorted(self.state.labels_dir.glob("*/*.npy")):
            if (path.parent.name, path.stem) not in index:
                path.unlink()
