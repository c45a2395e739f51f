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
from egpt_dsec.execute.lock import output_lock
from egpt_dsec.layout import OutputLayout, clip_name
from egpt_dsec.manifest import ClipRecord, Manifest
from egpt_dsec.options_record import load_last_config
from egpt_dsec.source.discover import SequenceSource
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.timestamps import read_timestamps
from egpt_dsec.writers.annotations import ClipEntry, eventgpt_item, render_json, videollava_item

log = logging.getLogger(__name__)

PROVENANCE_FILE = "annotations.provenance.json"
Group = tuple[str, str]  # (split, duration label)


def answers_root(out: Path) -> Path:
    return OutputLayout(out).state_dir / ANSWERS_DIR


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Annotating rewrites the JSON files: never at the same time as a build."""
    with output_lock(OutputLayout(out).state_dir):
        yield


def _config(out: Path) -> BuildConfig:
    try:
        return load_last_config(OutputLayout(out).state_dir)
    except ValueError:
        raise AnnotateError(
            f"{out} holds no build (no {OutputLayout(out).state_dir}/last_build.json); "
            "run egpt-dsec build --out there first"
        ) from None


def _records(
    out: Path, splits: tuple[str, ...] | None, durations: tuple[str, ...] | None
) -> Iterator[tuple[str, str, ClipRecord]]:
    """(split, sequence, record) of every non-empty finished clip, in a stable order."""
    manifest = Manifest(OutputLayout(out).state_dir)
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
    times: dict[tuple[str, str], np.ndarray | None] = {}
    clips = []
    for split, sequence, record in _records(out, splits, durations):
        if (split, sequence) not in times:
            times[(split, sequence)] = _timestamps(config, split, sequence)
        clip = _clip(layout, config, split, sequence, record, times[(split, sequence)])
        if clip is not None:
            clips.append(clip)
    return clips


def _timestamps(config: BuildConfig, split: str, sequence: str) -> np.ndarray | None:
    source = SequenceSource(split, sequence, config.dsec_root / split / sequence, config.camera)
    try:
        return read_timestamps(source.timestamps_path)
    except InputError as exc:
        log.warning("%s; frame times of %s/%s are spread evenly instead", exc, split, sequence)
        return None


def _clip(
    layout: OutputLayout,
    config: BuildConfig,
    split: str,
    sequence: str,
    r: ClipRecord,
    timestamps: np.ndarray | None,
) -> ClipToAsk | None:
    duration = Duration.parse(r.duration)
    count = r.frame_stop - r.frame_start
    if "video" in r.components:
        folder = layout.video_dir(split, duration, sequence, r.clip)
        frames = sorted(folder.glob("*.png"))
    else:
        source = SequenceSource(split, sequence, config.dsec_root / split / sequence, config.camera)
        frames = sorted(source.frames_dir.glob("*.png"))[r.frame_start : r.frame_stop]
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
    parts = range(r.parts) if "event_image" in r.components else range(0)
    return ClipToAsk(
        id=f"{sequence}_{r.duration}_{clip_name(r.clip)}",
        split=split,
        sequence=sequence,
        duration_label=r.duration,
        duration_s=duration.seconds,
        start_s=r.t0 / 1e6,
        frame_paths=tuple(frames),
        frame_times_s=tuple(rel),
        event_image_paths=tuple(
            layout.event_image(split, duration, sequence, r.clip, i) for i in parts
        ),
    )


def built_items(
    out: Path, split: str, duration: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """The entries the build writes to dataset.json and videollava.json (None: no MP4s)."""
    config = _config(out)
    entries = []
    for _, sequence, record in _records(out, (split,), (duration,)):
        events_h5 = None
        if config.event_format == "ref":
            folder = config.dsec_root / split / sequence
            events_h5 = SequenceSource(split, sequence, folder, config.camera).events_path
        entries.append(ClipEntry(split, sequence, record, events_h5, config.dsec_root))
    entries.sort(key=lambda e: (e.sequence, e.record.clip))
    dataset = [eventgpt_item(e, config.questions) for e in entries]
    with_mp4 = [e for e in entries if "mp4" in e.record.components]
    videollava = [videollava_item(e, config.questions) for e in with_mp4] if with_mp4 else None
    return dataset, videollava


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
