"""The build's own files under ``OUT/.egpt-dsec``: manifests, plans, running markers,
scratch encodes, the options record, the last config, the lock.

A sequence cut into time shards has one work unit per shard, named ``seq@003``;
an unsharded sequence is the unit ``seq``. Each unit has its own manifest file so
concurrent jobs never share one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATE_DIR = ".egpt-dsec"
UNIT_SEPARATOR = "@"
_RUNNING_SEPARATOR = "__"  # split__unit.json: one flat folder of markers


def unit_name(sequence: str, unit: str) -> str:
    """``seq`` for a whole sequence, ``seq@003`` for one of its shards."""
    return f"{sequence}{UNIT_SEPARATOR}{unit}" if unit else sequence


def sequence_of(unit: str) -> str:
    """The sequence a work-unit name belongs to (``seq@003`` -> ``seq``)."""
    return unit.split(UNIT_SEPARATOR, 1)[0]


@dataclass(frozen=True)
class StateLayout:
    """Paths of the state files of the output folder ``out``."""

    out: Path

    @property
    def root(self) -> Path:
        return self.out / STATE_DIR

    # --- manifest: one JSONL file per work unit ----------------------------------------

    @property
    def manifest_dir(self) -> Path:
        return self.root / "manifest"

    def manifest_file(self, split: str, sequence: str, unit: str = "") -> Path:
        return self.manifest_dir / split / f"{unit_name(sequence, unit)}.jsonl"

    def sequence_manifest_files(self, split: str, sequence: str) -> list[Path]:
        """The sequence's own file and those of its work units (shards)."""
        folder = self.manifest_dir / split
        return sorted(folder.glob(f"{sequence}.jsonl")) + sorted(
            folder.glob(f"{sequence}{UNIT_SEPARATOR}*.jsonl")
        )

    def manifest_files(self) -> list[tuple[str, str, Path]]:
        """(split, sequence, path) of every manifest file, work-unit files included."""
        return [
            (path.parent.name, sequence_of(path.stem), path)
            for path in sorted(self.manifest_dir.glob("*/*.jsonl"))
        ]

    # --- plans, annotations, answers ----------------------------------------------------

    @property
    def plan_dir(self) -> Path:
        return self.root / "plan"

    def plan_file(self, split: str, sequence: str) -> Path:
        return self.plan_dir / split / f"{sequence}.json"

    def plan_files(self) -> list[Path]:
        return sorted(self.plan_dir.glob("*/*.json"))

    # --- answers (``annotate``): one log per settings key, and the active set --------------

    @property
    def answers_dir(self) -> Path:
        return self.root / "answers"

    def answers_file(self, key: str, split: str, duration: str) -> Path:
        """The answers of one settings key for one split and duration (JSON lines)."""
        return self.answers_dir / key / split / f"{duration}.jsonl"

    def answer_settings_file(self, key: str) -> Path:
        return self.answers_dir / key / "settings.json"

    def answer_template_file(self, key: str) -> Path:
        return self.answers_dir / key / "prompt_template.txt"

    @property
    def active_answers_file(self) -> Path:
        """Which answers the JSON files show: settings key, settings and choices."""
        return self.answers_dir / "active.json"

    def annotations_file(self, split: str, duration: str) -> Path:
        """How many clips the JSON of one split and duration covers (for status)."""
        return self.root / "annotations" / split / f"{duration}.json"

    def annotations_files(self) -> list[tuple[str, str, Path]]:
        """(split, duration label, path) of every annotations record."""
        return [
            (path.parent.name, path.stem, path)
            for path in sorted((self.root / "annotations").glob("*/*.json"))
        ]

    # --- labels (``label-qa``): each sequence's validated boxes in the build's view -------

    @property
    def labels_dir(self) -> Path:
        return self.root / "labels"

    def labels_file(self, split: str, sequence: str) -> Path:
        """A sequence's DSEC-Detection boxes as label-qa read them (a plain ``.npy``)."""
        return self.labels_dir / split / f"{sequence}.npy"

    @property
    def labels_index(self) -> Path:
        """Per sequence: labels found, missing or malformed, and the view they are in."""
        return self.labels_dir / "index.json"

    # --- running jobs, scratch encodes --------------------------------------------------

    @property
    def running_dir(self) -> Path:
        return self.root / "running"

    def running_marker(self, split: str, sequence: str, unit: str = "") -> Path:
        name = f"{split}{_RUNNING_SEPARATOR}{unit_name(sequence, unit)}.json"
        return self.running_dir / name

    def running_markers(self) -> list[tuple[str, Path]]:
        """(``split/unit``, path) of every running marker."""
        return [
            (path.stem.replace(_RUNNING_SEPARATOR, "/", 1), path)
            for path in sorted(self.running_dir.glob("*.json"))
        ]

    def scratch_file(self, split: str, sequence: str, unit: str = "") -> Path:
        """A work unit's sequence encode (remux mode), deleted once its clips are cut."""
        return self.root / "scratch" / split / f"{unit_name(sequence, unit)}.mp4"

    def split_folders(self, split: str) -> list[Path]:
        """The state folders holding per-split files (swept for stale temps)."""
        return [
            self.root / "scratch" / split,
            self.plan_dir / split,
            self.manifest_dir / split,
            self.labels_dir / split,
        ]

    # --- single files -------------------------------------------------------------------

    @property
    def options_file(self) -> Path:
        return self.root / "options.json"

    @property
    def last_build_file(self) -> Path:
        return self.root / "last_build.json"

    @property
    def source_file(self) -> Path:
        """Whether the DSEC root was synthetic at the last card, for a card written once
        the root is gone (``annotate`` needs no DSEC root)."""
        return self.root / "source.json"

    @property
    def lock_file(self) -> Path:
        return self.root / "lock"
