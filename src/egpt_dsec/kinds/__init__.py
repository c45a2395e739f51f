"""The registry of output kinds: one line per kind, in the order entries, columns and
reports list them. Everything that iterates kinds (the pass, plan, status, verify, the
JSON writer, the card, the options record) reads this tuple; a new kind is one module
and one line here.
"""

from __future__ import annotations

from egpt_dsec.kinds.base import (
    ClipEntry,
    ClipPart,
    DatasetContext,
    FollowUp,
    Kind,
    Place,
    UnitWriter,
)
from egpt_dsec.kinds.card import CARD
from egpt_dsec.kinds.contexts import CheckTask, Problem, UnitContext
from egpt_dsec.kinds.dataset_json import JSON
from egpt_dsec.kinds.event_image import EVENT_IMAGE
from egpt_dsec.kinds.event_npy import EVENT_NPY
from egpt_dsec.kinds.event_npz import EVENT_NPZ
from egpt_dsec.kinds.event_ref import EVENT_REF
from egpt_dsec.kinds.event_tensor import EVENT_TENSOR
from egpt_dsec.kinds.label_qa import LABEL_QA
from egpt_dsec.kinds.mp4 import MP4
from egpt_dsec.kinds.video import VIDEO

KINDS: tuple[Kind, ...] = (
    EVENT_NPY,
    EVENT_REF,
    EVENT_IMAGE,
    VIDEO,
    MP4,
    EVENT_TENSOR,
    EVENT_NPZ,
    LABEL_QA,  # before the JSON files: they may merge its turns (--merge-labels)
    JSON,
    CARD,
)

KIND_NAMES: tuple[str, ...] = tuple(k.name for k in KINDS)
DEFAULT_COMPONENTS: tuple[str, ...] = tuple(k.name for k in KINDS if k.default)
BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS}
FILE_KINDS: tuple[Kind, ...] = tuple(k for k in KINDS if k.per_clip)
FILE_KIND_NAMES: tuple[str, ...] = tuple(k.name for k in FILE_KINDS)


__all__ = [
    "BY_NAME",
    "CARD",
    "DEFAULT_COMPONENTS",
    "EVENT_IMAGE",
    "EVENT_NPY",
    "EVENT_NPZ",
    "EVENT_REF",
    "EVENT_TENSOR",
    "FILE_KINDS",
    "FILE_KIND_NAMES",
    "JSON",
    "KINDS",
    "KIND_NAMES",
    "LABEL_QA",
    "MP4",
    "VIDEO",
    "CheckTask",
    "ClipEntry",
    "ClipPart",
    "DatasetContext",
    "FollowUp",
    "Kind",
    "Place",
    "Problem",
    "UnitContext",
    "UnitWriter",
]
