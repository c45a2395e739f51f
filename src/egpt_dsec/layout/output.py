"""Every output path: ``OUT/<split>/<duration>/<kind>/<kind template>``, plus the JSON files.

The JSON entries name each file relative to its kind's folder (the EventGPT
convention: ``event_data`` is relative to the event folder the trainer is given),
so ``clip_rel`` is the one place that spells an entry path too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from egpt_dsec.durations import Duration
from egpt_dsec.kinds import EVENT_IMAGE, FILE_KINDS, KIND_NAMES, VIDEO, OutputKind
from egpt_dsec.layout.state import STATE_DIR

DATASET_JSON = "dataset.json"
VIDEOLLAVA_JSON = "videollava.json"
ANNOTATION_FILES = (DATASET_JSON, VIDEOLLAVA_JSON)
_PART = re.compile(r"^(\d+)_(\d+)\.png$")  # EVENT_IMAGE's file name: <clip>_<part>.png


def clip_name(index: int) -> str:
    """Clip ids are the window index, zero-padded so they sort and stay stable."""
    return f"{index:06d}"


def clip_rel(kind: OutputKind, sequence: str, index: int, part: int = 0) -> str:
    """One clip's path inside the kind's folder, as the JSON entries spell it."""
    return kind.template.format(sequence=sequence, clip=clip_name(index), part=part)


def image_part(name: str, index: int) -> int | None:
    """The part number if ``name`` is an event image of clip ``index``, else None."""
    match = _PART.match(name)
    if match and match.group(1) == clip_name(index):
        return int(match.group(2))
    return None


@dataclass(frozen=True)
class Located:
    """Where a path under OUT sits: the fields it has (others are "")."""

    split: str = ""
    duration: str = ""
    kind: str = ""
    sequence: str = ""


@dataclass(frozen=True)
class OutputLayout:
    root: Path

    def split_dir(self, split: str) -> Path:
        return self.root / split

    def duration_dir(self, split: str, duration: Duration) -> Path:
        return self.split_dir(split) / duration.label

    def kind_dir(self, split: str, duration: Duration, kind: OutputKind) -> Path:
        return self.duration_dir(split, duration) / kind.name

    def sequence_dir(self, split: str, duration: Duration, kind: OutputKind, sequence: str) -> Path:
        return self.kind_dir(split, duration, kind) / sequence

    def sequence_dirs(self, split: str, duration: Duration, sequence: str) -> list[Path]:
        """The per-sequence folder of each file kind."""
        return [self.sequence_dir(split, duration, k, sequence) for k in FILE_KINDS]

    def clip_path(
        self,
        kind: OutputKind,
        split: str,
        duration: Duration,
        sequence: str,
        index: int,
        part: int = 0,
    ) -> Path:
        """A clip's file (its folder, for ``video``); ``part`` numbers event images."""
        return self.kind_dir(split, duration, kind) / clip_rel(kind, sequence, index, part)

    def image_paths(
        self, split: str, duration: Duration, sequence: str, index: int, parts: int
    ) -> list[Path]:
        return [
            self.clip_path(EVENT_IMAGE, split, duration, sequence, index, part)
            for part in range(parts)
        ]

    def dataset_json(self, split: str, duration: Duration) -> Path:
        return self.duration_dir(split, duration) / DATASET_JSON

    def videollava_json(self, split: str, duration: Duration) -> Path:
        return self.duration_dir(split, duration) / VIDEOLLAVA_JSON

    def locate(self, path: Path) -> Located:
        """Split, duration, kind and sequence of a path inside the dataset folders."""
        parts = path.relative_to(self.root).parts[:-1]  # the folders holding ``path``
        if parts[:1] == (STATE_DIR,):
            return Located()
        fields = list(parts[:4]) + [""] * (4 - min(len(parts), 4))
        if fields[2] and fields[2] not in KIND_NAMES:
            fields[2:] = ["", ""]
        return Located(*fields)

    def is_clip_folder(self, folder: Path) -> bool:
        """A clip's frame folder (``video/<seq>/<clip>``): its entries are frames."""
        rel = folder.relative_to(self.root).parts
        return len(rel) == 5 and rel[2] == VIDEO.name  # split/duration/video/seq/clip
