"""The one module of ``annotate`` that knows the build: which clips it has and their
images. Everything else in ``annotate`` sees only ``ClipToAsk``; the JSON files are
written by the build's own writer (``pipeline.json_files``) from the answers log.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from egpt_dsec.annotate.model import ClipToAsk
from egpt_dsec.answers.errors import AnnotateError
from egpt_dsec.config import BuildConfig
from egpt_dsec.config.record import load_last_config
from egpt_dsec.durations import Duration
from egpt_dsec.kinds import EVENT_IMAGE, VIDEO
from egpt_dsec.layout.dsec import SequenceFiles, sequence_folder
from egpt_dsec.layout.output import OutputLayout, clip_name
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.timestamps import read_timestamps
from egpt_dsec.state.lock import OutputLockedError, output_lock
from egpt_dsec.state.manifest import ClipRecord, Manifest

log = logging.getLogger(__name__)

Group = tuple[str, str]  # (split, duration label)


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Annotating rewrites the JSON files: never at the same time as a build."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(output_lock(StateLayout(out)))
        except OutputLockedError as exc:
            raise AnnotateError(str(exc)) from None
        yield


def build_config(out: Path) -> BuildConfig:
    """The recorded config of the build at ``out``."""
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
    config = build_config(out)
    layout = config.output
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
        event_image_paths=tuple(
            layout.clip_path(EVENT_IMAGE, split, duration, sequence, r.clip, part)
            for part in range(parts)
        ),
    )
