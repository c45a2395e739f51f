"""The JSON items trainers load: EventGPT entries and Video-LLaVA entries.

Pure: clip records in, items out. Each item names its files through ``place``: relative
to each kind's folder in a duration's own files (EventGPT's ``event_data`` is relative to
the event folder the trainer is given), relative to the split folder in the files that
combine all durations. Entries are sorted and ids are derived from names (unique across
durations), so the files are byte-identical on every run.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egpt_dsec.durations import Duration
from egpt_dsec.kinds import EVENT_IMAGE, EVENT_NPY, FILE_KINDS, MP4, OutputKind
from egpt_dsec.layout.output import clip_name, clip_rel
from egpt_dsec.state.manifest import ClipRecord


@dataclass(frozen=True)
class ClipEntry:
    """A finished, non-empty clip as the JSON files describe it."""

    split: str
    sequence: str
    record: ClipRecord
    events_h5: Path | None = None  # set in --event-format ref: events stay in the source
    dsec_root: Path | None = None

    @property
    def id(self) -> str:
        return f"{self.sequence}_{self.record.duration}_{clip_name(self.record.clip)}"

    @property
    def has_mp4(self) -> bool:
        return MP4.name in self.record.components


EVENT_TOKEN, VIDEO_TOKEN = "<event>", "<video>"  # what each trainer's human turn starts with

# How an item spells a clip's file: (entry, kind, path in the kind's folder) -> path.
Place = Callable[[ClipEntry, OutputKind, str], str]


def in_kind_folder(entry: ClipEntry, kind: OutputKind, rel: str) -> str:
    """A duration's own files: paths relative to each kind's folder."""
    return rel


def choose_question(entry_id: str, questions: tuple[str, ...]) -> str:
    """A stable pick from the question list (a hash of the id, not a random draw)."""
    return questions[zlib.crc32(entry_id.encode()) % len(questions)]


def _conversation(token: str, question: str) -> list[dict[str, str]]:
    return [
        {"from": "human", "value": f"{token}\n{question}"},
        {"from": "gpt", "value": ""},
    ]


def eventgpt_item(
    entry: ClipEntry, questions: tuple[str, ...], place: Place = in_kind_folder
) -> dict[str, Any]:
    r = entry.record
    item: dict[str, Any] = {
        "id": entry.id,
        "split": entry.split,
        "sequence": entry.sequence,
        "clip": clip_name(r.clip),
        "duration": r.duration,
        "time_start": r.t0,
        "time_end": r.t1,
        "num_events": r.num_events,
    }
    for kind in FILE_KINDS:
        if kind.name not in r.components:
            continue
        if kind is EVENT_NPY and entry.events_h5 is not None:
            item["event_source"] = event_source(entry)
        elif kind is EVENT_IMAGE:
            item[kind.entry_key] = [
                place(entry, kind, clip_rel(kind, entry.sequence, r.clip, part))
                for part in range(r.parts)
            ]
        else:
            item[kind.entry_key] = place(entry, kind, clip_rel(kind, entry.sequence, r.clip))
    item["conversations"] = _conversation(EVENT_TOKEN, choose_question(entry.id, questions))
    return item


def event_source(entry: ClipEntry) -> dict[str, Any]:
    """Where a clip's events are in the DSEC source: file and index range ``[start, stop)``."""
    assert entry.events_h5 is not None and entry.dsec_root is not None
    r = entry.record
    return {
        "file": str(entry.events_h5),
        "relative_to_dsec_root": entry.events_h5.relative_to(entry.dsec_root).as_posix(),
        "start": r.event_start,
        "stop": r.event_start + r.num_events,
        "duration_ms": Duration.parse(r.duration).ms,
        "image_idx": r.image_idx,
        "image_indices_in_clip": [r.frame_start, r.frame_stop],
    }


VIDEOLLAVA_PATH_KEY = "video"  # Video-LLaVA names the MP4, relative to the mp4 folder


def videollava_item(
    entry: ClipEntry, questions: tuple[str, ...], place: Place = in_kind_folder
) -> dict[str, Any]:
    return {
        "id": entry.id,
        VIDEOLLAVA_PATH_KEY: place(entry, MP4, clip_rel(MP4, entry.sequence, entry.record.clip)),
        "conversations": _conversation(VIDEO_TOKEN, choose_question(entry.id, questions)),
    }


Items = list[dict[str, Any]]


def annotation_items(
    entries: list[ClipEntry], questions: tuple[str, ...], place: Place = in_kind_folder
) -> tuple[Items, Items]:
    """(EventGPT items, Video-LLaVA items of the clips with an MP4), in a stable order."""
    ordered = sorted(
        entries, key=lambda e: (Duration.parse(e.record.duration), e.sequence, e.record.clip)
    )
    return (
        [eventgpt_item(e, questions, place) for e in ordered],
        [videollava_item(e, questions, place) for e in ordered if e.has_mp4],
    )


def _entry_order(entry: ClipEntry) -> tuple[Duration, str, int]:
    return (Duration.parse(entry.record.duration), entry.sequence, entry.record.clip)


def render_json(items: Items) -> bytes:
    return (json.dumps(items, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
