"""The one module that knows the build: which clips it has, their files, its JSON files.

Written against today's build API (``OutputLayout``, ``Manifest``, the JSON writer,
the recorded last build config); everything else in ``annotate`` sees only
``ClipToAsk`` and plain JSON items. The base entries are regenerated from the
manifest exactly as the build writes them, so re-annotating never reads back its
own (filtered) output.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from egpt_dsec.annotate.answers_log import ANSWERS_DIR
from egpt_dsec.annotate.errors import AnnotateError
from egpt_dsec.annotate.files import atomic_write_bytes
from egpt_dsec.annotate.model import ClipToAsk
from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import Duration
from egpt_dsec.kinds import EVENT_IMAGE, MP4, VIDEO
from egpt_dsec.layout.dsec import SequenceFiles, sequence_folder
from egpt_dsec.layout.output import OutputLayout, clip_name
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.timestamps import read_timestamps
from egpt_dsec.state.lock import OutputLockedError, output_lock
from egpt_dsec.state.manifest import ClipRecord, Manifest
from egpt_dsec.state.options_record import load_last_config
from egpt_dsec.writers.annotations import ClipEntry, eventgpt_item, render_json, videollava_item

log = logging.getLogger(__name__)

PROVENANCE_FILE = "annotations.provenance.json"
Group = tuple[str, str]  # (split, duration label)


def answers_root(out: Path) -> Path:
    return StateLayout(out).root / ANSWERS_DIR


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Annotating rewrites the JSON files: never at the same time as a build."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(output_lock(StateLayout(out)))
        except OutputLockedError as exc:
            raise AnnotateError(str(exc)) from None
        yield


def _config(out: Path) -> BuildConfig:
    try:
        return load_last_config(StateLayout(out))
    except ValueError:
        raise AnnotateError(
            f"{out} holds no build (no {StateLayout(out).last_build_file}); "
            "run egpt-dsec build --out there first"
        ) from None


def _records(
    out: Path, splits: tuple[str, ...] | None, durations: tuple[str, ...] | None
) -> Iterator[tuple[str, str, ClipRecord]]:
    """(split, sequence, record) of every non-empty finished clip, in a stable order."""
    manifest = Manifest(StateLayout(out))
    for (split, sequence), records in sorted(manifest.all_records().items()):
        if splits is not None and split not in splits:
            continue
        for record in sorted(records.values(), key=lambda r: (r.duration, r.clip)):
            if not record.empty and (durations is None or record.duration in durations):
                yield split, sequence, record


def find_clips(
    out: Path, splits: tuple[str, ...] | None = None, durations: tuple[str, ...] | None = None
) -> list[ClipToAsk]:
    """Every non-empty built clip of the chosen splits and durations, with its images."""
    config, layout = _config(out), OutputLayout(out)
    sources: dict[tuple[str, str], _Source] = {}
    clips = []
    for split, sequence, record in _records(out, splits, durations):
        if (split, sequence) not in sources:
            sources[(split, sequence)] = _Source(config, split, sequence)
        clip = _clip(layout, sources[(split, sequence)], record)
        if clip is not None:
            clips.append(clip)
    return clips


class _Source:
    """A sequence's DSEC frames and timestamps, read once for all its clips."""

    def __init__(self, config: BuildConfig, split: str, sequence: str) -> None:
        self.split, self.sequence = split, sequence
        folder = sequence_folder(config.dsec_root, split, sequence)
        self.files = SequenceFiles(folder, config.camera)
        self._frames: list[Path] | None = None
        try:
            self.timestamps: np.ndarray | None = read_timestamps(self.files.timestamps)
        except InputError as exc:
            log.warning("%s; frame times of %s/%s are spread evenly", exc, split, sequence)
            self.timestamps = None

    def frames(self) -> list[Path]:
        """The source frames (only for clips built without their own frame folder)."""
        if self._frames is None:
            self._frames = sorted(self.files.frames_dir.glob("*.png"))
        return self._frames


def _clip(layout: OutputLayout, source: _Source, r: ClipRecord) -> ClipToAsk | None:
    split, sequence, timestamps = source.split, source.sequence, source.timestamps
    duration = Duration.parse(r.duration)
    count = r.frame_stop - r.frame_start
    if VIDEO.name in r.components:
        frames = sorted(layout.clip_path(VIDEO, split, duration, sequence, r.clip).glob("*.png"))
    else:
        frames = source.frames()[r.frame_start : r.frame_stop]
    if len(frames) != count or not count:
        log.warning(
            "%s/%s clip %d: %d frames of %d found; skipped (egpt-dsec verify --fix)",
            split,
            sequence,
            r.clip,
            len(frames),
            count,
        )
        return None
    if timestamps is not None:
        rel = [(int(t) - r.t0) / 1e6 for t in timestamps[r.frame_start : r.frame_stop]]
    else:
        rel = [i * duration.seconds / count for i in range(count)]
    parts = r.parts if EVENT_IMAGE.name in r.components else 0
    return ClipToAsk(
        id=f"{sequence}_{r.duration}_{clip_name(r.clip)}",
        split=split,
        sequence=sequence,
        duration_label=r.duration,
        duration_s=duration.seconds,
        start_s=r.t0 / 1e6,
        frame_paths=tuple(frames),
        frame_times_s=tuple(rel),
        event_image_paths=tuple(layout.image_paths(split, duration, sequence, r.clip, parts)),
    )


Items = list[dict[str, Any]]


def built_items(out: Path, groups: list[Group]) -> dict[Group, tuple[Items, Items | None]]:
    """Per group, the entries the build writes to dataset.json and videollava.json
    (None: no clip has an MP4), made by the build's own JSON writer from the manifest."""
    config = _config(out)
    entries: dict[Group, list[ClipEntry]] = {group: [] for group in groups}
    splits, durations = tuple({g[0] for g in groups}), tuple({g[1] for g in groups})
    for split, sequence, record in _records(out, splits, durations):
        if (split, record.duration) not in entries:
            continue
        events_h5 = None
        if config.event_format == "ref":
            folder = sequence_folder(config.dsec_root, split, sequence)
            events_h5 = SequenceFiles(folder, config.camera).events_h5
        entry = ClipEntry(split, sequence, record, events_h5, config.dsec_root)
        entries[(split, record.duration)].append(entry)
    items = {}
    for group, group_entries in entries.items():
        group_entries.sort(key=lambda e: (e.sequence, e.record.clip))
        with_mp4 = [e for e in group_entries if MP4.name in e.record.components]
        items[group] = (
            [eventgpt_item(e, config.questions) for e in group_entries],
            [videollava_item(e, config.questions) for e in with_mp4] if with_mp4 else None,
        )
    return items


def write_group(
    out: Path,
    group: Group,
    dataset: list[dict[str, Any]],
    videollava: list[dict[str, Any]] | None,
    provenance: dict[str, Any],
) -> None:
    """Replace the group's JSON files (atomically), formatted as the build formats them."""
    layout, duration = OutputLayout(out), Duration.parse(group[1])
    split = group[0]
    atomic_write_bytes(layout.dataset_json(split, duration), render_json(dataset))
    if videollava is not None:
        atomic_write_bytes(layout.videollava_json(split, duration), render_json(videollava))
    text = json.dumps(provenance, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write_bytes(layout.duration_dir(split, duration) / PROVENANCE_FILE, text.encode())


def provenance_files(out: Path) -> list[tuple[Group, Path]]:
    """Each annotated group's provenance file (for ``status``)."""
    root = OutputLayout(out).root
    return [
        ((path.parent.parent.name, path.parent.name), path)
        for path in sorted(root.glob(f"*/*/{PROVENANCE_FILE}"))
    ]
