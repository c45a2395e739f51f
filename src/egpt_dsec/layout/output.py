"""Every output path: ``OUT/<split dir>/<duration dir>/<kind>/<kind template>``, the JSON
files, the dataset card, and (``--frames-view event``) the frames warped into the event
view, once per split and sequence, that the clip frame folders link to.

Two folder-name schemes: ``standard`` (``OUT/train/1s/``) and ``legacy``, the names of the
replaced scripts (``OUT/my_egpt_dsec_train/my_egpt_dsec_train_1s/``, and
``my_egpt_dsec_test/my_egpt_dsec_seq_1s/`` for test) that existing scripts open. The JSON
entries name each file relative to its kind's folder (the EventGPT convention:
``event_data`` is relative to the event folder the trainer is given), so ``clip_rel`` is
the one place that spells an entry path too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from egpt_dsec.durations import Duration
from egpt_dsec.layout.dsec import FRAME_NAME
from egpt_dsec.layout.state import STATE_DIR

STANDARD, LEGACY = "standard", "legacy"
OUTPUT_LAYOUTS: tuple[str, ...] = (STANDARD, LEGACY)
_LEGACY_PREFIX = "my_egpt_dsec_"

EVENTGPT_JSON = "EventGPT_Instruction_Subset.json"  # per duration: what EventGPT's tools open
VIDEOLLAVA_JSON = "videollava.json"  # per duration, and per split (all durations)
DATASET_JSON = "dataset.json"  # per split: the EventGPT entries of all durations
ANNOTATION_FILES = (EVENTGPT_JSON, VIDEOLLAVA_JSON, DATASET_JSON)
DATASET_CARD = "README.md"
PROVENANCE_JSON = "annotations.provenance.json"  # per duration: where its answers came from
# label-qa, per duration: questions answered from DSEC-Detection's labels (EventGPT entries),
# the multiple-choice items, and their counts and answer distributions.
LABEL_QA_JSON = "label_qa.json"
LABEL_MC_JSON = "label_qa_mc.json"
LABEL_SUMMARY_JSON = "label_qa_summary.json"
LABEL_FILES = (LABEL_QA_JSON, LABEL_MC_JSON, LABEL_SUMMARY_JSON)
EVENT_VIEW_FRAMES = "event_view_frames"  # per split: <sequence>/<frame>.png, in the event view
# Short-lived files of the checks: the build's write test in OUT, and the plan's disk speed
# test in OUT or the nearest folder above it that exists.
WRITE_PROBE_PREFIX = ".write-probe-"
DISK_PROBE_PREFIX = ".disk-probe-"


def is_probe_name(name: str) -> bool:
    """A probe file's name (one a killed run may have left)."""
    return name.startswith((WRITE_PROBE_PREFIX, DISK_PROBE_PREFIX))


class KindFiles(Protocol):
    """What layout needs of an output kind: its folder name and one clip's file template
    (``{sequence}``, ``{clip}`` and ``{part}`` filled in)."""

    @property
    def name(self) -> str: ...

    @property
    def template(self) -> str: ...


def clip_name(index: int) -> str:
    """Clip ids are the window index, zero-padded so they sort and stay stable."""
    return f"{index:06d}"


def clip_rel(kind: KindFiles, sequence: str, index: int, part: int | str = 0) -> str:
    """One clip's path inside the kind's folder, as the JSON entries spell it."""
    return kind.template.format(sequence=sequence, clip=clip_name(index), part=part)


def clip_part(kind: KindFiles, name: str, index: int) -> int | None:
    """The part number if ``name`` is a file of clip ``index`` by ``kind``'s template (its
    ``{part}`` field read back), else None."""
    pattern = re.escape(kind.template.rsplit("/", 1)[-1])
    pattern = pattern.replace(re.escape("{clip}"), re.escape(clip_name(index)))
    match = re.fullmatch(pattern.replace(re.escape("{part}"), r"(\d+)"), name)
    return int(match.group(1)) if match and match.groups() else None


def clip_index(kind: KindFiles, name: str) -> int | None:
    """The clip index a name in the kind's sequence folder is spelled with, if it has the
    shape of the kind's template (any part), else None."""
    pattern = re.escape(kind.template.rsplit("/", 1)[-1])
    pattern = pattern.replace(re.escape("{clip}"), r"(?P<clip>\d+)")
    match = re.fullmatch(pattern.replace(re.escape("{part}"), r".+"), name)
    return int(match.group("clip")) if match else None


@dataclass(frozen=True)
class Located:
    """Where a path under OUT sits: the fields it has (others are "")."""

    split: str = ""
    duration: str = ""
    kind: str = ""
    sequence: str = ""


def _legacy_tag(split: str) -> str:
    """The replaced scripts named test duration folders ``..._seq_<d>``."""
    return "seq" if split == "test" else split


@dataclass(frozen=True)
class OutputLayout:
    root: Path
    scheme: str = STANDARD

    def __post_init__(self) -> None:
        if self.scheme not in OUTPUT_LAYOUTS:
            raise ValueError(f"output layout must be one of {OUTPUT_LAYOUTS}, got {self.scheme!r}")

    def split_name(self, split: str) -> str:
        return f"{_LEGACY_PREFIX}{split}" if self.scheme == LEGACY else split

    def duration_name(self, split: str, duration: Duration) -> str:
        if self.scheme == LEGACY:
            return f"{_LEGACY_PREFIX}{_legacy_tag(split)}_{duration.label}"
        return duration.label

    def split_dir(self, split: str) -> Path:
        return self.root / self.split_name(split)

    def duration_dir(self, split: str, duration: Duration) -> Path:
        return self.split_dir(split) / self.duration_name(split, duration)

    def split_rel(self, split: str, duration: Duration, kind: KindFiles, rel: str) -> str:
        """An entry path relative to the split folder (the combined JSON files)."""
        return f"{self.duration_name(split, duration)}/{kind.name}/{rel}"

    def kind_dir(self, split: str, duration: Duration, kind: KindFiles) -> Path:
        return self.duration_dir(split, duration) / kind.name

    def sequence_dir(self, split: str, duration: Duration, kind: KindFiles, sequence: str) -> Path:
        return self.kind_dir(split, duration, kind) / sequence

    def clip_path(
        self,
        kind: KindFiles,
        split: str,
        duration: Duration,
        sequence: str,
        index: int,
        part: int | str = 0,
    ) -> Path:
        """A clip's file (its folder, for ``video``); ``part`` numbers event images."""
        return self.kind_dir(split, duration, kind) / clip_rel(kind, sequence, index, part)

    def event_view_frames(self, split: str, sequence: str, frames: int) -> list[Path]:
        """Where each of a sequence's frames, warped into the event view, is kept (its DSEC
        file name): written once, linked into every clip frame folder that holds it."""
        folder = self.event_view_dir(split, sequence)
        return [folder / FRAME_NAME.format(index=i) for i in range(frames)]

    def event_view_dir(self, split: str, sequence: str) -> Path:
        return self.split_dir(split) / EVENT_VIEW_FRAMES / sequence

    def eventgpt_json(self, split: str, duration: Duration) -> Path:
        return self.duration_dir(split, duration) / EVENTGPT_JSON

    def videollava_json(self, split: str, duration: Duration) -> Path:
        return self.duration_dir(split, duration) / VIDEOLLAVA_JSON

    def provenance_json(self, split: str, duration: Duration) -> Path:
        return self.duration_dir(split, duration) / PROVENANCE_JSON

    def label_qa_json(self, split: str, duration: Duration) -> Path:
        return self.duration_dir(split, duration) / LABEL_QA_JSON

    def label_mc_json(self, split: str, duration: Duration) -> Path:
        return self.duration_dir(split, duration) / LABEL_MC_JSON

    def label_summary_json(self, split: str, duration: Duration) -> Path:
        return self.duration_dir(split, duration) / LABEL_SUMMARY_JSON

    def split_dataset_json(self, split: str) -> Path:
        return self.split_dir(split) / DATASET_JSON

    def split_videollava_json(self, split: str) -> Path:
        return self.split_dir(split) / VIDEOLLAVA_JSON

    @property
    def card(self) -> Path:
        return self.root / DATASET_CARD

    def duration_dirs(self, split: str) -> list[Path]:
        """The split's folders whose names are duration folders of this scheme."""
        folder = self.split_dir(split)
        if not folder.is_dir():
            return []
        return [p for p in sorted(folder.iterdir()) if p.is_dir() and self._label_of(split, p.name)]

    def locate(self, path: Path) -> Located:
        """Split, duration, kind and sequence of a path inside the dataset folders."""
        parts = path.relative_to(self.root).parts[:-1]  # the folders holding ``path``
        if parts[:1] == (STATE_DIR,) or not parts:
            return Located()
        split = self._split_of(parts[0])
        if split and parts[1:2] == (EVENT_VIEW_FRAMES,):
            return Located(split, sequence=parts[2] if len(parts) > 2 else "")
        label = self._label_of(split, parts[1]) if len(parts) > 1 and split else ""
        kind = parts[2] if len(parts) > 2 and label else ""
        sequence = parts[3] if len(parts) > 3 and kind else ""
        return Located(split, label, kind, sequence)

    def _split_of(self, name: str) -> str:
        if self.scheme == LEGACY:
            return name.removeprefix(_LEGACY_PREFIX) if name.startswith(_LEGACY_PREFIX) else ""
        return name

    def _label_of(self, split: str, name: str) -> str:
        prefix = f"{_LEGACY_PREFIX}{_legacy_tag(split)}_" if self.scheme == LEGACY else ""
        if not name.startswith(prefix):
            return ""
        try:
            return Duration.parse(name.removeprefix(prefix)).label
        except ValueError:
            return ""

    def is_clip_folder(self, folder: Path, kinds: frozenset[str]) -> bool:
        """A clip's own folder (``<kind>/<seq>/<clip>`` of one of ``kinds``, e.g. frames)."""
        rel = folder.relative_to(self.root).parts
        return len(rel) == 5 and self.locate(folder).kind in kinds
