"""The build's memory: which clips are done, per sequence, as append-only JSON lines.

One file per work unit (``manifest/<split>/<sequence>.jsonl``) so concurrent
jobs never share a file; a line is appended only after every file of the clip
was renamed into place, so a line always means "these files are complete".
A crash can at worst cut the last line, which readers ignore.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from egpt_dsec.writers.atomic import atomic_write_bytes

MANIFEST_DIR = "manifest"
PLAN_DIR = "plan"
RUNNING_DIR = "running"
ANNOTATIONS_DIR = "annotations"

ClipKey = tuple[str, int]  # (duration label, clip index)


@dataclass(frozen=True)
class ClipRecord:
    """A finished clip: its window, its event and frame ranges, the components written."""

    duration: str
    clip: int
    t0: int
    t1: int
    num_events: int
    frame_start: int
    frame_stop: int
    parts: int
    components: tuple[str, ...]
    event_start: int = 0  # index range [event_start, event_start + num_events) in events.h5
    image_idx: int = -1  # the frame nearest time_end (EventGPT's image_idx)

    @property
    def key(self) -> ClipKey:
        return (self.duration, self.clip)

    @property
    def empty(self) -> bool:
        return self.num_events == 0

    def merged(self, other: ClipRecord) -> ClipRecord:
        """Union of the components of two records of the same clip (later one wins otherwise)."""
        components = tuple(sorted(set(self.components) | set(other.components)))
        return ClipRecord(**{**asdict(other), "components": components})

    def to_line(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":")) + "\n"

    @staticmethod
    def from_line(line: str) -> ClipRecord:
        data = json.loads(line)
        data["components"] = tuple(data["components"])
        return ClipRecord(**data)


@dataclass(frozen=True)
class SequencePlan:
    """Planned clip counts of one sequence, written before its job runs, for ``status``."""

    split: str
    sequence: str
    clips: dict[str, int]  # duration label -> planned clips
    components: tuple[str, ...] = field(default_factory=tuple)


class Manifest:
    """Reads and appends the per-sequence manifest files under ``OUT/.egpt-dsec``."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def _file(self, split: str, sequence: str, unit: str = "") -> Path:
        return self.state_dir / MANIFEST_DIR / split / f"{unit_name(sequence, unit)}.jsonl"

    def _sequence_files(self, split: str, sequence: str) -> list[Path]:
        """The sequence's own file and those of its work units (shards)."""
        folder = self.state_dir / MANIFEST_DIR / split
        return sorted(folder.glob(f"{sequence}.jsonl")) + sorted(folder.glob(f"{sequence}@*.jsonl"))

    def sequence_records(self, split: str, sequence: str) -> dict[ClipKey, ClipRecord]:
        """Every finished clip of a sequence, merged over all its work-unit files."""
        records: dict[ClipKey, ClipRecord] = {}
        for path in self._sequence_files(split, sequence):
            for record in _read_lines(path):
                old = records.get(record.key)
                records[record.key] = old.merged(record) if old else record
        return records

    def files(self) -> list[tuple[str, str, Path]]:
        """(split, sequence, path) of every manifest file, work-unit files included."""
        root = self.state_dir / MANIFEST_DIR
        return [
            (path.parent.name, path.stem.split("@", 1)[0], path)
            for path in sorted(root.glob("*/*.jsonl"))
        ]

    def all_records(self) -> dict[tuple[str, str], dict[ClipKey, ClipRecord]]:
        """(split, sequence) -> its records; what the JSON writer reads."""
        out: dict[tuple[str, str], dict[ClipKey, ClipRecord]] = {}
        root = self.state_dir / MANIFEST_DIR
        if not root.is_dir():
            return out
        for split_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            sequences = {p.stem.split("@", 1)[0] for p in split_dir.glob("*.jsonl")}
            for sequence in sorted(sequences):
                out[(split_dir.name, sequence)] = self.sequence_records(split_dir.name, sequence)
        return out

    def writer(self, split: str, sequence: str, unit: str = "") -> ManifestWriter:
        return ManifestWriter(self._file(split, sequence, unit))

    def forget(self, split: str, sequence: str, keys: set[ClipKey]) -> None:
        """Drop records (so those clips are rebuilt), rewriting the files atomically."""
        for path in self._sequence_files(split, sequence):
            _rewrite(path, [r for r in _read_lines(path) if r.key not in keys])

    def forget_components(self, components: set[str]) -> None:
        """Mark ``components`` not done in every record (they will be rebuilt)."""
        root = self.state_dir / MANIFEST_DIR
        for path in sorted(root.glob("*/*.jsonl")):
            records = []
            for r in _read_lines(path):
                left = tuple(c for c in r.components if c not in components)
                records.append(ClipRecord(**{**asdict(r), "components": left}))
            _rewrite(path, records)

    # --- plans, for status -------------------------------------------------------------

    def write_plan(self, plan: SequencePlan) -> None:
        path = self.state_dir / PLAN_DIR / plan.split / f"{plan.sequence}.json"
        atomic_write_bytes(path, json.dumps(asdict(plan), sort_keys=True).encode())

    def plans(self) -> list[SequencePlan]:
        root = self.state_dir / PLAN_DIR
        plans = []
        for path in sorted(root.glob("*/*.json")):
            data = json.loads(path.read_text())
            data["components"] = tuple(data.get("components", ()))
            plans.append(SequencePlan(**data))
        return plans

    # --- annotation files, for status --------------------------------------------------

    def record_annotations(self, split: str, duration: str, clips: int) -> None:
        """Note how many clips (empty ones included) the JSON of a duration now covers."""
        path = self.state_dir / ANNOTATIONS_DIR / split / f"{duration}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"clips": clips}))

    def annotated(self) -> dict[tuple[str, str], int]:
        out = {}
        for path in sorted((self.state_dir / ANNOTATIONS_DIR).glob("*/*.json")):
            out[(path.parent.name, path.stem)] = int(json.loads(path.read_text())["clips"])
        return out

    # --- which sequences are being worked on -------------------------------------------

    def mark_running(self, split: str, sequence: str, unit: str = "") -> Path:
        path = self.state_dir / RUNNING_DIR / f"{split}__{unit_name(sequence, unit)}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
        return path

    def running(self) -> list[str]:
        """``split/sequence`` of jobs marked running whose process is still alive."""
        found = []
        for path in sorted((self.state_dir / RUNNING_DIR).glob("*.json")):
            try:
                info = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if info.get("host") == socket.gethostname() and not _pid_alive(int(info["pid"])):
                continue
            found.append(path.stem.replace("__", "/", 1))
        return found


def unit_name(sequence: str, unit: str) -> str:
    """``seq`` for a whole sequence, ``seq@003`` for one of its shards."""
    return f"{sequence}@{unit}" if unit else sequence


class ManifestWriter:
    """Appends one line per finished clip; flushed at once so a kill loses nothing done."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[str] | None = None

    def append(self, record: ClipRecord) -> None:
        if self._file is None:
            self._file = self.path.open("a", encoding="utf-8")
            _end_cut_line(self.path, self._file)
        self._file.write(record.to_line())
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _end_cut_line(path: Path, handle: IO[str]) -> None:
    """After a crash mid-line, start on a fresh line so the cut line stays alone."""
    size = path.stat().st_size
    if size:
        with path.open("rb") as f:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                handle.write("\n")


def _rewrite(path: Path, records: list[ClipRecord]) -> None:
    atomic_write_bytes(path, "".join(r.to_line() for r in records).encode())


def _read_lines(path: Path) -> Iterator[ClipRecord]:
    """Records of one file; a last line cut by a crash is not a record."""
    for row in read_rows(path):
        try:
            yield ClipRecord(**{**row, "components": tuple(row["components"])})
        except (TypeError, KeyError):
            continue


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The raw JSON rows of one manifest file, parsed in one go (status reads 100,000
    clips in well under a second); a last line cut by a crash is dropped."""
    lines = path.read_text(encoding="utf-8").split("\n")[:-1]
    try:
        return list(json.loads("[" + ",".join(line for line in lines if line) + "]"))
    except ValueError:
        return [row for row in map(_parse_line, lines) if row is not None]


def _parse_line(line: str) -> dict[str, Any] | None:
    try:
        row = json.loads(line)
    except ValueError:
        return None
    return row if isinstance(row, dict) else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
