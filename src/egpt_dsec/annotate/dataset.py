"""The one module of ``annotate`` that knows the build: which clips it has and their
images. Everything else in ``annotate`` sees only ``ClipToAsk``; the JSON files are
written by the build's own writer (``pipeline.json_files``) from the answers log.

A clip's frames are found by the build's own code: ``FrameSource`` (DSEC's frames
through ``list_frames``, or in the event view the frames the build warped) gives the
files the clip folders link to; only when DSEC is not at hand are the clip's own frame
folders listed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from egpt_dsec.annotate.model import ClipToAsk
from egpt_dsec.answers.errors import AnnotateError
from egpt_dsec.config import BuildConfig
from egpt_dsec.config.record import load_last_config
from egpt_dsec.durations import Duration
from egpt_dsec.execute.frame_source import FrameSource
from egpt_dsec.kinds import EVENT_IMAGE, MP4, VIDEO
from egpt_dsec.labels import clip_objects, describe_objects
from egpt_dsec.layout.dsec import sequence_folder
from egpt_dsec.layout.output import OutputLayout, clip_name
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.source.discover import SequenceSource
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.timestamps import read_timestamps
from egpt_dsec.state.labels import LabelStore
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
    out: Path,
    splits: tuple[str, ...] | None = None,
    durations: tuple[str, ...] | None = None,
    with_labels: bool = False,
) -> list[ClipToAsk]:
    """Every non-empty built clip of the chosen splits and durations, with its images
    (and, ``with_labels``, its labelled objects)."""
    config = build_config(out)
    layout = config.output
    labels = _labels(out) if with_labels else None
    sources: dict[tuple[str, str], _Source] = {}
    clips = []
    for split, sequence, record in _records(out, splits, durations):
        if (split, sequence) not in sources:
            sources[(split, sequence)] = _Source(config, split, sequence)
        clip = _clip(layout, sources[(split, sequence)], record)
        if clip is not None and labels is not None:
            tracks = labels.load(split, sequence)
            if tracks is not None:
                facts = describe_objects(clip_objects(tracks, record.t0, record.t1))
                clip = replace(clip, labelled_objects=tuple(facts))
        if clip is not None:
            clips.append(clip)
    return clips


def _labels(out: Path) -> LabelStore:
    """The labels ``label-qa`` kept beside the build (in the build's view)."""
    store = LabelStore(StateLayout(out))
    if not store.index():
        raise AnnotateError(
            f"--with-labels: {out} has no labels yet; run egpt-dsec label-qa --out {out} "
            "--dsec-root DSEC first (it reads DSEC-Detection's labels)"
        )
    return store


class _Source:
    """A sequence's DSEC frames and timestamps, read once for all its clips."""

    def __init__(self, config: BuildConfig, split: str, sequence: str) -> None:
        self.config, self.split, self.sequence = config, split, sequence
        folder = sequence_folder(config.dsec_root, split, sequence)
        self.source = SequenceSource(split, sequence, folder, config.camera)
        self._frames: list[Path] | None = None
        self._source: FrameSource | None = None
        self._index: dict[Path, int] = {}
        self._lock = threading.Lock()
        try:
            self.timestamps: np.ndarray | None = read_timestamps(self.source.files.timestamps)
        except InputError as exc:
            log.warning("%s; frame times of %s/%s are spread evenly", exc, split, sequence)
            self.timestamps = None

    def frames(self) -> list[Path]:
        """The frame file of every frame index, as the build's clip folders link to them
        (``FrameSource``); [] when DSEC is not at hand."""
        if self._frames is None:
            self._frames = []
            if self.timestamps is not None:
                try:
                    self._source = FrameSource.of(self.source, self.config, len(self.timestamps))
                    self._frames = self._source.linked
                except InputError as exc:
                    log.warning("%s; the clips' own frame folders are used", exc)
        return self._frames

    @property
    def ensure(self) -> Callable[[Path], None] | None:
        """Event view: write a frame the build kept only for clips with frame folders, as
        the build does (``FrameSource.keep_warped``), the first time a clip shows it."""
        if self._source is None or not self._source.event_view:
            return None
        if not self._index:
            self._index = {path: i for i, path in enumerate(self._source.warped)}
        return self._ensure

    def _ensure(self, path: Path) -> None:
        index = self._index.get(path)
        if index is None or path.is_file():
            return
        assert self._source is not None
        with self._lock:
            try:
                self._source.keep_warped(index)
            except InputError as exc:
                raise AnnotateError(f"{path}: cannot warp its frame ({exc})") from None


def _frames(layout: OutputLayout, source: _Source, r: ClipRecord) -> list[Path]:
    frames = source.frames()[r.frame_start : r.frame_stop]
    if len(frames) != r.frame_stop - r.frame_start and VIDEO.name in r.components:
        duration = Duration.parse(r.duration)
        folder = layout.clip_path(VIDEO, source.split, duration, source.sequence, r.clip)
        frames = sorted(folder.glob("*.png"))
    return frames


def _reference(source: _Source, r: ClipRecord, frames: list[Path]) -> Path | None:
    """The frame ``image_idx`` names (the first inside the clip, or with
    ``--image-idx nearest-end`` the one nearest its end)."""
    if r.image_idx < 0:
        return None
    if r.frame_start <= r.image_idx < r.frame_stop:
        return frames[r.image_idx - r.frame_start]
    every = source.frames()
    return every[r.image_idx] if r.image_idx < len(every) else None


def _clip(layout: OutputLayout, source: _Source, r: ClipRecord) -> ClipToAsk | None:
    split, sequence, timestamps = source.split, source.sequence, source.timestamps
    duration = Duration.parse(r.duration)
    count = r.frame_stop - r.frame_start
    frames = _frames(layout, source, r)
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
    mp4 = layout.clip_path(MP4, split, duration, sequence, r.clip)
    config = source.config
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
        reference_frame=_reference(source, r, frames),
        mp4_path=mp4 if MP4.name in r.components and mp4.is_file() else None,
        event_style=config.options_of(EVENT_IMAGE).style,
        video_fps=float(config.options_of(MP4).fps),
        ensure=source.ensure,
    )
