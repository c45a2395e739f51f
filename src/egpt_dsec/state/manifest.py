"""Which clips are done, per work unit, as append-only JSON lines.

One file per work unit (``StateLayout.manifest_file``) so concurrent jobs never
share a file; a line is appended only after every file of the clip was renamed
into place, so a line always means "these files are complete". A crash can at
worst cut the last line, which readers ignore.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO, Any

from egpt_dsec.fs import atomic_write_bytes, open_for_append, read_json_lines
from egpt_dsec.layout.state import StateLayout

ClipKey = tuple[str, int]  # (duration label, clip index)


@dataclass(frozen=True)
class ClipRecord:
    """A finished clip: its window, its event and frame ranges, the kinds written."""

    duration: str
    clip: int
    t0: int
    t1: int
    num_events: int
    frame_start: int
    frame_stop: int
    parts: int
    components: tuple[str, ...]
    event_start: int = 0  # the window's first event in events.h5
    image_idx: int = -1  # EventGPT's image_idx (see ``plan.clips.Clip.image_idx``)
    dropped: int = 0  # --rectify-events: the window's events that left the rectified view

    @property
    def source_events(self) -> int:
        """The window's events in events.h5: [event_start, event_start + source_events)."""
        return self.num_events + self.dropped

    @property
    def key(self) -> ClipKey:
        return (self.duration, self.clip)

    @property
    def empty(self) -> bool:
        return self.num_events == 0

    def with_components(self, components: set[str] | tuple[str, ...]) -> ClipRecord:
        return replace(self, components=tuple(sorted(components)))

    def merged(self, other: ClipRecord) -> ClipRecord:
        """Union of the components of two records of the same clip (later one wins otherwise)."""
        return other.with_components({*self.components, *other.components})

    def to_line(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":")) + "\n"


class Manifest:
    """Reads and appends the per-unit manifest files of one output folder."""

    def __init__(self, state: StateLayout) -> None:
        self.state = state

    def sequence_records(self, split: str, sequence: str) -> dict[ClipKey, ClipRecord]:
        """Every finished clip of a sequence, merged over all its work-unit files."""
        records: dict[ClipKey, ClipRecord] = {}
        for path in self.state.sequence_manifest_files(split, sequence):
            for record in _read_records(path):
                old = records.get(record.key)
                records[record.key] = old.merged(record) if old else record
        return records

    def all_records(self) -> dict[tuple[str, str], dict[ClipKey, ClipRecord]]:
        """(split, sequence) -> its records; what the JSON writer and verify read."""
        sequences = sorted(
            {(split, sequence) for split, sequence, _ in self.state.manifest_files()}
        )
        return {key: self.sequence_records(*key) for key in sequences}

    def writer(self, split: str, sequence: str, unit: str = "") -> ManifestWriter:
        return ManifestWriter(self.state.manifest_file(split, sequence, unit))

    def forget(self, split: str, sequence: str, keys: set[ClipKey]) -> None:
        """Drop records (so those clips are rebuilt), rewriting the files atomically."""
        for path in self.state.sequence_manifest_files(split, sequence):
            _rewrite(path, [r for r in _read_records(path) if r.key not in keys])

    def forget_components(self, components: set[str]) -> None:
        """Mark ``components`` not done in every record (they will be rebuilt)."""
        for _, _, path in self.state.manifest_files():
            records = [
                r.with_components(set(r.components) - components) for r in _read_records(path)
            ]
            _rewrite(path, records)

    def rename_component(self, old: str, new: str) -> None:
        """Call ``old`` ``new`` in every record (a kind renamed by a newer version)."""
        for _, _, path in self.state.manifest_files():
            records = [
                r.with_components({new if c == old else c for c in r.components})
                for r in _read_records(path)
            ]
            _rewrite(path, records)

    # --- what the JSON files cover, for status -------------------------------------------

    def record_annotations(self, split: str, duration: str, clips: int) -> None:
        """Note how many clips (empty ones included) the JSON of a duration now covers."""
        atomic_write_bytes(
            self.state.annotations_file(split, duration), json.dumps({"clips": clips}).encode()
        )

    def annotated(self) -> dict[tuple[str, str], int]:
        return {
            (split, duration): int(json.loads(path.read_text())["clips"])
            for split, duration, path in self.state.annotations_files()
        }


class ManifestWriter:
    """Appends one line per finished clip; flushed at once so a kill loses nothing done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def append(self, record: ClipRecord) -> None:
        if self._file is None:
            self._file = open_for_append(self.path)
        self._file.write(record.to_line().encode())
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _rewrite(path: Path, records: list[ClipRecord]) -> None:
    atomic_write_bytes(path, "".join(r.to_line() for r in records).encode())


def _read_records(path: Path) -> Iterator[ClipRecord]:
    """Records of one file; a last line cut by a crash is not a record."""
    for row in read_rows(path):
        try:
            yield ClipRecord(**{**row, "components": tuple(row["components"])})
        except (TypeError, KeyError):
            continue


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The raw JSON rows of one manifest file (status reads them without records)."""
    return read_json_lines(path)
