"""The label questions of a clip in the preview: its boxes drawn over the event image
and the frame, and its questions and answers (from ``label-qa``'s files).

Boxes come from the labels ``label-qa`` kept beside the output, in the view of the
build's event images; over a frame that the preview moved into the rectified view (a
build without ``--rectify-events``), they are moved there too through the sequence's
``rectify_map``. Each box is outlined ``BOX_WIDTH`` pixels wide, inside its edges, in
``BOX_RGB``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.durations import Duration
from egpt_dsec.labels import Tracks
from egpt_dsec.labels.classes import CLASS_NAMES
from egpt_dsec.labels.view import rectify_boxes
from egpt_dsec.layout.output import OutputLayout
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.state.labels import LabelStore

BOX_RGB = (0, 255, 0)
BOX_WIDTH = 2


@dataclass(frozen=True)
class LabelTurn:
    task: str
    question: str
    answer: str


def label_turns(layout: OutputLayout, split: str, duration: Duration) -> dict[str, list[LabelTurn]]:
    """Clip entry id -> its label questions and answers (none before ``label-qa``)."""
    path = layout.label_qa_json(split, duration)
    if not path.is_file():
        return {}
    found: dict[str, list[LabelTurn]] = {}
    for entry in json.loads(path.read_text(encoding="utf-8")):
        clip_id = entry["id"].rsplit("_", 2)[0]
        human, gpt = entry["conversations"][0]["value"], entry["conversations"][1]["value"]
        turn = LabelTurn(entry["answer_meta"]["task"], human.removeprefix("<event>\n"), gpt)
        found.setdefault(clip_id, []).append(turn)
    return found


def kept_labels(out: Path) -> tuple[dict[tuple[str, str], Tracks], dict[tuple[str, str], str]]:
    """Every sequence's kept boxes and the view each is in."""
    store = LabelStore(StateLayout(out))
    views = {key: found.view for key, found in store.index().items()}
    return store.load_all(), views


def boxes_at(tracks: Tracks, t0: int, t1: int, at: int | None) -> tuple[Tracks, int | None]:
    """The boxes of the label time in ``[t0, t1)`` nearest ``at`` (None: the last one)."""
    rows = tracks.window(t0, t1)
    if not len(rows):
        return rows, None
    times = np.unique(rows.t)
    t = int(times[-1]) if at is None else int(times[np.argmin(np.abs(times - at))])
    return rows.take(rows.t == t), t


def in_rectified_view(rows: Tracks, rectify_map: NDArray[np.float32] | None) -> Tracks:
    return rows if rectify_map is None else rectify_boxes(rows, rectify_map)


def draw_boxes(picture: NDArray[np.uint8], rows: Tracks) -> NDArray[np.uint8]:
    """``picture`` (480x640) with each box outlined inside its edges."""
    out = picture.copy()
    height, width = out.shape[:2]
    for i in range(len(rows)):
        x0, y0 = max(round(rows.x0[i]), 0), max(round(rows.y0[i]), 0)
        x1, y1 = min(round(rows.x1[i]), width), min(round(rows.y1[i]), height)
        if x1 <= x0 or y1 <= y0:
            continue
        w = BOX_WIDTH
        colour = np.array(BOX_RGB, np.uint8)
        out[y0 : y0 + w, x0:x1] = colour
        out[max(y1 - w, y0) : y1, x0:x1] = colour
        out[y0:y1, x0 : x0 + w] = colour
        out[y0:y1, max(x1 - w, x0) : x1] = colour
    return out


def caption(rows: Tracks, t: int, t0: int, what: str) -> str:
    names = sorted({CLASS_NAMES[int(k)] for k in rows.class_id})
    return f"{what}: {len(rows)} labelled box(es) at {(t - t0) / 1e6:.2f} s ({', '.join(names)})"
