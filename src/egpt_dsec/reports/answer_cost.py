"""The cost of answering a built output, for ``annotate --dry-run`` and ``status``: its
clips (from the manifest) with their image sizes (one frame header per sequence), and
the ask plan of its answer settings. Reads nothing from any server.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from egpt_dsec.answers.active import read_active
from egpt_dsec.answers.cost import AskPlan, ClipShape, CostTable, ask_plan_of, estimate
from egpt_dsec.answers.prompts import DEFAULT_TEMPLATE
from egpt_dsec.answers.questions import DEFAULT_QUESTIONS
from egpt_dsec.answers.tokens import family_of
from egpt_dsec.config import EVENT_VIEW, BuildConfig
from egpt_dsec.config.record import load_last_config
from egpt_dsec.durations import Duration
from egpt_dsec.kinds import EVENT_IMAGE, MP4, VIDEO
from egpt_dsec.kinds.event_image import EVENT_IMAGE_SIZE
from egpt_dsec.layout.dsec import SequenceFiles, sequence_folder
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.render.warp import EVENT_VIEW_SIZE
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.frames import frame_size
from egpt_dsec.state.manifest import ClipRecord, Manifest
from egpt_dsec.writers.video_frame import video_size

log = logging.getLogger(__name__)

DEFAULT_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"
DSEC_FRAME_SIZE = (1440, 1080)  # when no frame of the sequence can be read
Selection = tuple[tuple[str, ...] | None, tuple[str, ...] | None, tuple[str, ...] | None]


def output_shapes(out: Path, selection: Selection = (None, None, None)) -> list[ClipShape]:
    """Every non-empty built clip of the chosen (splits, durations, sequences)."""
    config = load_last_config(StateLayout(out))
    splits, durations, sequences = selection
    shapes, sizes = [], {}
    mp4 = config.options_of(MP4)
    for (split, sequence), records in sorted(Manifest(StateLayout(out)).all_records().items()):
        if (splits and split not in splits) or (sequences and sequence not in sequences):
            continue
        for r in sorted(records.values(), key=lambda r: (r.duration, r.clip)):
            if r.empty or (durations and r.duration not in durations):
                continue
            if (split, sequence) not in sizes:
                sizes[(split, sequence)] = _frame_size(config, out, split, sequence, r)
            size = sizes[(split, sequence)]
            shapes.append(_shape(split, r, size, video_size(*size, mp4.size), mp4))
    return shapes


def _shape(
    split: str, r: ClipRecord, size: tuple[int, int], video: tuple[int, int], mp4: Any
) -> ClipShape:
    return ClipShape(
        split=split,
        duration=r.duration,
        frames=r.frame_stop - r.frame_start,
        frame_size=size,
        event_images=r.parts if EVENT_IMAGE.name in r.components else 0,
        event_size=EVENT_IMAGE_SIZE,
        has_mp4=MP4.has_files(r, mp4),  # a clip under --min-video-frames has none
        video_size=video,
    )


def _frame_size(
    config: BuildConfig, out: Path, split: str, sequence: str, r: ClipRecord
) -> tuple[int, int]:
    """The size of the sequence's frames as the clips show them: the event view's, or
    the header of the first frame found (DSEC's, else the clip folder's)."""
    if config.frames_view == EVENT_VIEW:
        return EVENT_VIEW_SIZE
    for path in _first_frames(config, split, sequence, r):
        try:
            return frame_size(path)
        except InputError:
            continue
    log.warning(
        "%s/%s: no frame to read its size; %dx%d assumed", split, sequence, *DSEC_FRAME_SIZE
    )
    return DSEC_FRAME_SIZE


def _first_frames(config: BuildConfig, split: str, sequence: str, r: ClipRecord) -> Iterator[Path]:
    files = SequenceFiles(sequence_folder(config.dsec_root, split, sequence), config.camera)
    yield files.frame(r.frame_start)
    if VIDEO.name in r.components:
        folder = config.output.clip_path(VIDEO, split, Duration.parse(r.duration), sequence, r.clip)
        yield from sorted(folder.glob("*.png"))[:1]


def recorded_plan(out: Path) -> tuple[AskPlan, str]:
    """The ask plan of the output's active answer settings, else of ``annotate``'s
    defaults (``--select best`` of Qwen2.5-VL); and the model it is for."""
    state = StateLayout(out)
    active = read_active(state)
    if active is None:
        return AskPlan(
            "qwen2.5-vl", max_side=336, questions=DEFAULT_QUESTIONS, template=DEFAULT_TEMPLATE
        ), DEFAULT_MODEL
    template = state.answer_template_file(active.key)
    text = template.read_text(encoding="utf-8") if template.is_file() else DEFAULT_TEMPLATE
    settings = active.settings
    family = family_of(str(settings.get("model", ""))) or "qwen2.5-vl"
    plan = ask_plan_of(settings, active.choices.questions, active.choices.select, text, family)
    return plan, active.model


def cost_of(
    out: Path, plan: AskPlan, selection: Selection = (None, None, None), rate: float | None = None
) -> CostTable:
    """The cost of asking ``plan`` of the output's clips (event images in its style)."""
    style = load_last_config(StateLayout(out)).options_of(EVENT_IMAGE).style
    return estimate(replace(plan, event_style=style), output_shapes(out, selection), rate)


def output_cost(out: Path, rate: float | None = None) -> tuple[CostTable, str, str]:
    """``status``'s figures: the cost of the output's answer settings (or the defaults),
    the model and the family whose image tokens are counted."""
    plan, model = recorded_plan(out)
    return cost_of(out, plan, rate=rate), model, plan.family
