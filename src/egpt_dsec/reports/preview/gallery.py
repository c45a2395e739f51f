"""``egpt-dsec preview``: a static gallery of a built output, to look at before training.

``OUT/preview/index.html`` plus ``OUT/preview/assets/`` (thumbnails, overlays, one
contact sheet per split and duration); event images, MP4s and answers are linked where
the build wrote them. Every file is written atomically and the same output gives the
same bytes; assets of an earlier preview that this one no longer uses are removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from egpt_dsec.config import CAMERA_VIEW, EVENT_VIEW
from egpt_dsec.durations import Duration
from egpt_dsec.fs import atomic_write_bytes, remove_path
from egpt_dsec.labels import Tracks
from egpt_dsec.labels.view import RAW
from egpt_dsec.layout.dsec import SequenceFiles, sequence_folder
from egpt_dsec.load import load_clip_events
from egpt_dsec.render.rectify import RectifyTable
from egpt_dsec.reports.preview.assets import contact_sheet, png_bytes, read_rgb, thumbnail
from egpt_dsec.reports.preview.dataset import (
    PreviewClip,
    built_durations,
    choose,
    estimated_frame_time,
    load_entries,
    output_layout,
    recorded_overlap,
    to_clip,
)
from egpt_dsec.reports.preview.labels import (
    LabelTurn,
    boxes_at,
    caption,
    draw_boxes,
    in_rectified_view,
    kept_labels,
    label_turns,
)
from egpt_dsec.reports.preview.overlay import Alignment, overlay
from egpt_dsec.reports.preview.page import ClipCard, Section, render_page
from egpt_dsec.source.calibration import load_calibration, load_rectify_map
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.timestamps import read_timestamps

PREVIEW_DIR = "preview"
ASSETS_DIR = "assets"
INDEX = "index.html"
STRIP_FRAMES = 8
OVERLAY_HALF_WINDOW_US = 5_000  # events within 5 ms of the frame: shapes barely move
T = TypeVar("T")


@dataclass(frozen=True)
class PreviewConfig:
    out: Path
    clips: int = 4  # per split and duration
    splits: tuple[str, ...] | None = None
    durations: tuple[Duration, ...] | None = None
    sequences: tuple[str, ...] | None = None
    dsec_root: Path | None = None  # for exact frame times and the calibration
    frames_view: str = CAMERA_VIEW  # what the build wrote (its --frames-view)
    events_rectified: bool = False  # the build's --rectify-events
    camera: str = "left"
    dest: Path | None = None  # default OUT/preview


@dataclass(frozen=True)
class PreviewResult:
    index: Path
    clips: int
    sections: int


@dataclass
class _Sequence:
    """What the DSEC source tells about one sequence (read once)."""

    alignment: Alignment
    timestamps: np.ndarray | None = None
    rectify_map: np.ndarray | None = None  # when the preview rectifies the events


@dataclass
class _Labels:
    """What label-qa left: each sequence's boxes and their view, and the clips' questions."""

    tracks: dict[tuple[str, str], Tracks]
    views: dict[tuple[str, str], str]
    turns: dict[str, list[LabelTurn]] = field(default_factory=dict)  # of one section


@dataclass
class _Writer:
    assets: Path
    written: set[Path] = field(default_factory=set)

    def png(self, name: str, rgb: np.ndarray) -> Path:
        path = self.assets / f"{name}.png"
        atomic_write_bytes(path, png_bytes(rgb))
        self.written.add(path)
        return path


def _source(config: PreviewConfig, split: str, sequence: str) -> _Sequence:
    if config.dsec_root is None:
        note = "" if config.frames_view == EVENT_VIEW else "no --dsec-root: no calibration"
        return _Sequence(Alignment(config.frames_view, note=note))
    folder = sequence_folder(config.dsec_root, split, sequence)
    notes: list[str] = []

    def attempt(read: Callable[[], T]) -> T | None:
        try:
            return read()
        except InputError as exc:
            notes.append(f"{exc.path.name}: {exc.problem}")
            return None

    calibration = rectify_map = None
    if config.frames_view == CAMERA_VIEW:
        calibration = attempt(lambda: load_calibration(folder, config.camera))
    if not config.events_rectified:
        rectify_map = attempt(lambda: load_rectify_map(folder, config.camera))
    rectify = None if rectify_map is None else RectifyTable.from_map(rectify_map)
    timestamps = attempt(lambda: read_timestamps(SequenceFiles(folder).timestamps))
    alignment = Alignment(config.frames_view, calibration, rectify, "; ".join(notes))
    return _Sequence(alignment, timestamps, rectify_map)


def _events_near(clip: PreviewClip, t_us: int, dsec_root: Path | None) -> dict | None:
    if clip.events is None:
        return None
    data = load_clip_events(clip.events, dsec_root)
    a, b = np.searchsorted(
        data["t"], [t_us - OVERLAY_HALF_WINDOW_US, t_us + OVERLAY_HALF_WINDOW_US]
    )
    return {k: data[k][a:b] for k in ("x", "y", "p")}


def _overlay(
    clip: PreviewClip, source: _Sequence, config: PreviewConfig, overlap: float
) -> tuple[np.ndarray | None, str, int | None]:
    """Events over the middle frame, its caption, and the frame's time."""
    frame_path = clip.middle_frame
    if frame_path is None:
        return None, "no frames in this clip", None
    if not frame_path.stem.isdigit():
        return None, f"frame {frame_path.name}: not a DSEC frame name, its time is unknown", None
    index = int(frame_path.stem)
    if source.timestamps is not None and index < len(source.timestamps):
        t_us = int(source.timestamps[index])
    else:
        t_us = estimated_frame_time(clip, frame_path, overlap)
    try:
        events = _events_near(clip, t_us, config.dsec_root)
    except (OSError, ValueError) as exc:
        return None, f"events unreadable: {exc}", t_us
    if events is None:
        return None, "no events component", t_us
    picture, caption = overlay(
        read_rgb(frame_path), events["x"], events["y"], events["p"], source.alignment
    )
    return picture, f"frame {frame_path.stem}, events ±5 ms: {caption}", t_us


def _boxes(
    clip: PreviewClip,
    source: _Sequence,
    labels: _Labels,
    writer: _Writer,
    event_image: Path | None,
    frame: tuple[np.ndarray | None, int | None],
) -> tuple[tuple[Path, str], ...]:
    """A label clip's boxes over its last event image (at its last label time) and over
    the events-and-frame picture (at the label time nearest the frame's)."""
    key = (clip.split, clip.sequence)
    tracks = labels.tracks.get(key)
    if tracks is None or clip.entry_id not in labels.turns:
        return ()
    stem, found = f"{clip.split}_{clip.entry_id}", []
    if event_image is not None and event_image.is_file():
        rows, t = boxes_at(tracks, clip.time_start, clip.time_end, None)
        if t is not None:
            path = writer.png(f"{stem}_boxes_events", draw_boxes(read_rgb(event_image), rows))
            found.append((path, caption(rows, t, clip.time_start, "last event image")))
    picture, t_us = frame
    if picture is not None and t_us is not None:
        rows, t = boxes_at(tracks, clip.time_start, clip.time_end, t_us)
        if t is not None:
            raw = labels.views.get(key) == RAW and source.alignment.rectify is not None
            rows = in_rectified_view(rows, source.rectify_map if raw else None)
            path = writer.png(f"{stem}_boxes_frame", draw_boxes(picture, rows))
            found.append((path, caption(rows, t, clip.time_start, "events over the frame")))
    return tuple(found)


def _card(
    clip: PreviewClip,
    source: _Sequence,
    config: PreviewConfig,
    overlap: float,
    writer: _Writer,
    labels: _Labels,
) -> tuple[ClipCard, list[np.ndarray]]:
    stem = f"{clip.split}_{clip.entry_id}"
    picks = choose(list(clip.frames), STRIP_FRAMES)
    strip = tuple(
        writer.png(f"{stem}_frame_{i}", thumbnail(read_rgb(p))) for i, p in enumerate(picks)
    )
    picture, caption, t_us = _overlay(clip, source, config, overlap)
    overlay_path = writer.png(f"{stem}_overlay", picture) if picture is not None else None
    event_image = clip.event_images[-1] if clip.event_images else None
    boxes = _boxes(clip, source, labels, writer, event_image, (picture, t_us))
    card = ClipCard(
        title=clip.entry_id,
        meta=f"{clip.sequence} · clip {clip.clip:06d} · {clip.duration.label} · "
        f"{clip.num_events:,} events · t = [{clip.time_start}, {clip.time_end}) µs",
        event_images=tuple(p for p in clip.event_images if p.is_file()),
        frames=strip,
        overlay=overlay_path,
        caption=caption,
        mp4=clip.mp4 if clip.mp4 is not None and clip.mp4.is_file() else None,
        question=clip.question,
        answer=clip.answer,
        boxes=boxes,
        labels=tuple((t.task, t.question, t.answer) for t in labels.turns.get(clip.entry_id, [])),
    )
    row = [read_rgb(card.event_images[-1])] if card.event_images else []
    return card, row + ([picture] if picture is not None else [])


def _section(
    config: PreviewConfig,
    split: str,
    duration: Duration,
    writer: _Writer,
    sources: dict,
    labels: _Labels,
) -> Section:
    entries = load_entries(config.out, split, duration)
    labels.turns = label_turns(output_layout(config.out), split, duration)
    if config.sequences is not None:
        entries = [e for e in entries if e.get("sequence") in config.sequences]
    overlap = recorded_overlap(config.out)
    cards, rows = [], []
    for entry in choose(entries, config.clips):
        clip = to_clip(config.out, split, duration, entry)
        key = (split, clip.sequence)
        if key not in sources:
            sources[key] = _source(config, split, clip.sequence)
        card, pictures = _card(clip, sources[key], config, overlap, writer, labels)
        cards.append(card)
        rows.append((clip.entry_id, pictures))
    sheet = writer.png(f"contact_{split}_{duration.label}", contact_sheet(rows)) if rows else None
    title = f"{split} · {duration.label} · {len(cards)} of {len(entries)} clips"
    return Section(f"{split}-{duration.label}", title, sheet, tuple(cards))


def write_preview(config: PreviewConfig) -> PreviewResult:
    """Write ``OUT/preview/``; raises ValueError when the output has no JSON files."""
    pairs = built_durations(config.out, config.splits, config.durations)
    if not pairs:
        raise ValueError(f"no EventGPT JSON under {config.out}: build the dataset first")
    page_dir = config.dest or config.out / PREVIEW_DIR
    writer = _Writer(page_dir / ASSETS_DIR)
    sources: dict = {}
    labels = _Labels(*kept_labels(config.out))
    sections = [_section(config, split, d, writer, sources, labels) for split, d in pairs]
    clips = sum(len(s.cards) for s in sections)
    summary = f"{config.out.name}: {clips} clips in {len(sections)} split/duration folders"
    index = page_dir / INDEX
    page = render_page("egpt-dsec preview", summary, sections, page_dir)
    atomic_write_bytes(index, page.encode("utf-8"))
    if writer.assets.is_dir():
        for stale in sorted(set(writer.assets.iterdir()) - writer.written):
            remove_path(stale)
    return PreviewResult(index, clips, len(sections))
