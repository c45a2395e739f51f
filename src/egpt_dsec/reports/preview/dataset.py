"""Reading a built output for the preview: which durations it has, their EventGPT
entries, and each entry's files as absolute paths (through the build's recorded layout).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from egpt_dsec.config.record import load_last_config
from egpt_dsec.durations import Duration
from egpt_dsec.kinds import EVENT_IMAGE, EVENT_NPY, MP4, VIDEO, Kind
from egpt_dsec.kinds.event_ref import EVENT_SOURCE_KEY
from egpt_dsec.layout.output import OutputLayout
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.plan.clips import stride_us

FRAME_PERIOD_US = 50_000  # DSEC frames are 20 Hz
T = TypeVar("T")


@dataclass(frozen=True)
class PreviewClip:
    """One clip as the preview shows it; paths are absolute, missing components are empty."""

    split: str
    duration: Duration
    entry_id: str
    sequence: str
    clip: int
    time_start: int
    time_end: int
    num_events: int
    event_images: tuple[Path, ...]
    frames: tuple[Path, ...]
    mp4: Path | None
    events: Path | dict[str, Any] | None  # the .npy, or the entry (--event-format ref)
    question: str
    answer: str

    @property
    def middle_frame(self) -> Path | None:
        return self.frames[len(self.frames) // 2] if self.frames else None


def built_durations(
    out: Path, splits: tuple[str, ...] | None = None, durations: tuple[Duration, ...] | None = None
) -> list[tuple[str, Duration]]:
    """(split, duration) pairs with an EventGPT file, in split then duration order."""
    layout = output_layout(out)
    found = []
    for split, label, _ in StateLayout(out).annotations_files():
        duration = Duration.parse(label)
        if splits is not None and split not in splits:
            continue
        wanted = durations is None or duration in durations
        if wanted and layout.eventgpt_json(split, duration).is_file():
            found.append((split, duration))
    return sorted(found, key=lambda pair: (pair[0], pair[1].us))


def output_layout(out: Path) -> OutputLayout:
    """The folder names the build at ``out`` used."""
    return load_last_config(StateLayout(out)).output


def load_entries(out: Path, split: str, duration: Duration) -> list[dict[str, Any]]:
    path = output_layout(out).eventgpt_json(split, duration)
    with path.open(encoding="utf-8") as f:
        entries = json.load(f)
    if not isinstance(entries, list):
        raise ValueError(f"{path}: not a JSON list")
    return entries


def choose(entries: list[T], count: int) -> list[T]:
    """``count`` items spread evenly over the list (first and last included)."""
    if count <= 0 or not entries:
        return []
    if count >= len(entries):
        return list(entries)
    picks = np.round(np.linspace(0, len(entries) - 1, count)).astype(int)
    return [entries[i] for i in sorted(set(picks.tolist()))]


def _conversation(entry: dict[str, Any]) -> tuple[str, str]:
    turns = entry.get("conversations") or []
    human = next((t.get("value", "") for t in turns if t.get("from") == "human"), "")
    gpt = next((t.get("value", "") for t in turns if t.get("from") == "gpt"), "")
    return human.removeprefix("<event>\n"), gpt


def to_clip(out: Path, split: str, duration: Duration, entry: dict[str, Any]) -> PreviewClip:
    layout = output_layout(out)

    def folder(kind: Kind) -> Path:
        return layout.kind_dir(split, duration, kind)

    video = folder(VIDEO) / entry[VIDEO.entry_key] if VIDEO.entry_key in entry else None
    frames = tuple(sorted(video.glob("*.png"))) if video is not None and video.is_dir() else ()
    events: Path | dict[str, Any] | None = None
    if EVENT_NPY.entry_key in entry:
        events = folder(EVENT_NPY) / entry[EVENT_NPY.entry_key]
    elif EVENT_SOURCE_KEY in entry:
        events = entry
    question, answer = _conversation(entry)
    return PreviewClip(
        split=split,
        duration=duration,
        entry_id=str(entry["id"]),
        sequence=str(entry["sequence"]),
        clip=int(entry["clip"]),
        time_start=int(entry["time_start"]),
        time_end=int(entry["time_end"]),
        num_events=int(entry.get("num_events", 0)),
        event_images=tuple(folder(EVENT_IMAGE) / p for p in entry.get(EVENT_IMAGE.entry_key, [])),
        frames=frames,
        mp4=folder(MP4) / entry[MP4.entry_key] if MP4.entry_key in entry else None,
        events=events,
        question=question,
        answer=answer,
    )


def recorded_overlap(out: Path) -> float:
    """The window overlap the build recorded."""
    return load_last_config(StateLayout(out)).overlap


def estimated_frame_time(clip: PreviewClip, frame: Path, overlap: float) -> int:
    """A frame's timestamp from its name (its index in the sequence) and the clip's start.

    Window k starts at ``T0 + k * stride`` with T0 the first image timestamp, and frames
    come every 50 ms; exact up to the frames' jitter. With the DSEC source at hand,
    ``images/timestamps.txt`` gives the exact value instead.
    """
    first_image = clip.time_start - clip.clip * stride_us(clip.duration, overlap)
    return first_image + int(frame.stem) * FRAME_PERIOD_US
