"""Build options as one typed, frozen value: declared once here (default, flag, help),
parsed by the CLI, recorded beside the output, passed to the library.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from egpt_dsec import argtypes
from egpt_dsec.durations import DEFAULT_DURATIONS, Duration
from egpt_dsec.kinds import BY_NAME, DEFAULT_COMPONENTS, EVENT_NPY, EVENT_REF, KIND_NAMES, Kind
from egpt_dsec.kinds.dataset_json import JsonOptions
from egpt_dsec.kinds.event_image import EventImageOptions
from egpt_dsec.kinds.event_tensor import EVENT_TENSOR, TensorOptions
from egpt_dsec.kinds.label_qa import LabelQaOptions
from egpt_dsec.kinds.mp4 import Mp4Options
from egpt_dsec.kinds.video import FrameFolderOptions
from egpt_dsec.layout.output import LEGACY, OUTPUT_LAYOUTS, STANDARD, OutputLayout
from egpt_dsec.machine import available_cores
from egpt_dsec.options import build_from, check_choices, declared, option, value_of
from egpt_dsec.plan.clips import (
    FRONT,
    IMAGE_IDX_RULES,
    PER_FRAME,
    SLIDING,
    SYNCS,
    WINDOW_RULES,
)
from egpt_dsec.plan.sequence import SequencePlan, plan_sequence
from egpt_dsec.render.tensor_spec import TensorSpec, parse_tensor_specs

EVENT_FORMATS: tuple[str, ...] = ("npy", "ref")
CAMERA_VIEW, EVENT_VIEW = "camera", "event"  # --frames-view: DSEC's frames, or warped
FRAME_VIEWS: tuple[str, ...] = (CAMERA_VIEW, EVENT_VIEW)
CAMERAS: tuple[str, ...] = ("left", "right")

# The help groups of the shared options (each option names its own with ``group=``):
# what is read; the clips cut from it and what they show (``--rectify-events`` and
# ``--frames-view`` change what every clip's events or frames look like, for several kinds
# at once, like the windows do); then, after each kind's own options (a group per kind),
# where the output goes and how the work is run.
INPUT, WINDOWS, OUTPUT = "input", "windows", "output"
SHARED_GROUPS: dict[str, str] = {
    INPUT: "input",
    WINDOWS: "clip windows and view",
    OUTPUT: "output and run",
}


def _labels(durations: tuple[Duration, ...]) -> str:
    return ",".join(d.label for d in durations)


def _number(value: float) -> str:
    """A float as typed: ``160`` for 160.0, else its exact repr."""
    return str(int(value)) if float(value).is_integer() else repr(value)


@dataclass(frozen=True)
class BuildConfig:
    """Everything a build needs; equal configs give byte-identical outputs."""

    dsec_root: Path = option(
        flag="--dsec-root",
        help="the folder holding DSEC's train/ and test/, one folder per sequence",
        example="/data/DSEC",
        parse=Path,
        metavar="DIR",
        group=INPUT,
    )
    out: Path = option(
        flag="--out",
        help="the output folder: new, empty, or an earlier build's (resumed); not inside, "
        "equal to or around the DSEC root",
        example="/data/egpt-dsec",
        parse=Path,
        metavar="DIR",
        group=OUTPUT,
    )
    splits: tuple[str, ...] | None = option(
        None,
        flag="--splits",
        help="splits to build",
        example="train",
        parse=argtypes.csv_list,
        show=argtypes.csv_or_all,
        metavar="LIST",
        group=INPUT,
    )
    sequences: tuple[str, ...] | None = option(
        None,
        flag="--sequences",
        help="sequences to build",
        example="interlaken_00_c,zurich_city_04_a",
        parse=argtypes.csv_list,
        show=argtypes.csv_or_all,
        metavar="LIST",
        group=INPUT,
    )
    durations: tuple[Duration, ...] = option(
        DEFAULT_DURATIONS,
        flag="--durations",
        help="clip durations",
        example="500ms,1s,2s",
        parse=argtypes.durations,
        show=_labels,
        metavar="LIST",
        group=WINDOWS,
    )
    overlap: float = option(
        0.5,
        flag="--overlap",
        help="overlap of sliding windows, in [0, 1)",
        example="0",
        parse=float,
        metavar="F",
        group=WINDOWS,
    )
    windows: str = option(
        SLIDING,
        flag="--windows",
        help="sliding: a window every (1 - overlap) x duration from the first image; "
        "per-frame: one window per frame, its id the frame's index, holding that frame "
        "(EventGPT's released DSEC layout with --durations 50ms)",
        choices=WINDOW_RULES,
        before=SLIDING,
        metavar="RULE",
        group=WINDOWS,
    )
    sync: str = option(
        FRONT,
        flag="--sync",
        help="per-frame windows: front = the events before the frame, [t - D, t); back = "
        "the events after it, [t, t + D) (DSEC-Detection's sync)",
        choices=SYNCS,
        before=FRONT,
        metavar="SIDE",
        group=WINDOWS,
    )
    components: tuple[str, ...] = option(
        DEFAULT_COMPONENTS,
        flag="--components",
        help=f"output kinds to write, of {', '.join(KIND_NAMES)}",
        example="event_npy,json",
        parse=argtypes.csv_list,
        show=",".join,
        metavar="LIST",
        group=OUTPUT,
    )
    camera: str = option(
        "left",
        flag="--camera",
        help="the DSEC camera, left or right",
        choices=CAMERAS,
        metavar="SIDE",
        group=INPUT,
    )
    workers: int = option(
        available_cores(),
        flag="--workers",
        help="jobs (work units) run in parallel, each free to use as many cores",
        example="2",
        parse=int,
        show=lambda n: f"the cores this process may use ({n})",
        metavar="N",
        group=OUTPUT,
    )
    event_format: Literal["npy", "ref"] = option(
        "npy",
        flag="--event-format",
        help="npy: a copy of the events per clip (event_npy); ref: no copy, the JSON points "
        "into the source events.h5, read with egpt_dsec.load_clip_events (event_ref)",
        choices=EVENT_FORMATS,
        metavar="FORMAT",
        group=OUTPUT,
    )
    # Each shard border is read twice for up to the longest clip (16 s): 160 s shards keep
    # that under 10% of the events read. A job uses all the cores it is given, so shorter
    # shards are for spreading one long sequence over many nodes.
    shard_seconds: float | None = option(
        160.0,
        flag="--shard-seconds",
        help="split long sequences into work units of this length (each border re-reads "
        "up to the longest clip); 0 = whole sequences",
        example="20",
        parse=float,
        to_value=lambda s: s or None,
        show=lambda s: "0" if s is None else _number(s),  # 0: whole sequences (None)
        metavar="S",
        group=OUTPUT,
    )
    image_idx: str = option(
        "first",
        flag="--image-idx",
        help="the frame a clip's image_idx names: first = the first frame inside the clip "
        "(the replaced scripts); nearest-end = the frame nearest time_end",
        choices=IMAGE_IDX_RULES,
        metavar="RULE",
        before="nearest-end",
        group=WINDOWS,
    )
    rectify_events: bool = option(
        False,
        flag="--rectify-events",
        help="move events into the rectified event view (the sequence's rectify_map, rounded; "
        "those outside 640x480 dropped and counted) for the event files, images and tensors",
        switch=True,
        before=False,
        group=WINDOWS,
    )
    frames_view: str = option(
        "camera",
        flag="--frames-view",
        help="camera: DSEC's frames as they are; event: warped into the rectified event view "
        "at 640x480 (needs calibration/cam_to_cam.yaml), for the frame folders and MP4s",
        choices=FRAME_VIEWS,
        metavar="VIEW",
        before="camera",
        group=WINDOWS,
    )
    layout: str = option(
        STANDARD,
        flag="--layout",
        help=f"output folder names: {STANDARD} = OUT/<split>/<duration>/; {LEGACY} = the "
        "replaced scripts' (my_egpt_dsec_train/my_egpt_dsec_train_1s/ and the like)",
        choices=OUTPUT_LAYOUTS,
        metavar="NAMES",
        before=STANDARD,
        group=OUTPUT,
    )
    max_chunk_events: int = 4_000_000  # events read per step: bounds a job's memory
    # Each kind's own options, in a group named after it (``Kind.options_type``).
    event_image: EventImageOptions = field(default_factory=EventImageOptions)
    video: FrameFolderOptions = field(default_factory=FrameFolderOptions)
    mp4: Mp4Options = field(default_factory=Mp4Options)
    event_tensor: TensorOptions = field(default_factory=TensorOptions)
    json: JsonOptions = field(default_factory=JsonOptions)
    label_qa: LabelQaOptions = field(default_factory=LabelQaOptions)

    def __post_init__(self) -> None:
        check_choices(self)
        if not 0 <= self.overlap < 1:
            raise ValueError(f"overlap must be in [0, 1), got {self.overlap}")
        unknown = set(self.components) - set(KIND_NAMES)
        if unknown:
            raise ValueError(f"unknown components {sorted(unknown)}; choose from {KIND_NAMES}")
        if not self.components:
            raise ValueError("no components selected")
        if not self.durations:
            raise ValueError("no durations selected")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        object.__setattr__(self, "components", self._resolved_components())
        if self.wants(EVENT_TENSOR.name) and not self.event_tensor.specs:
            raise ValueError("event_tensor needs --tensors, e.g. --tensors voxel:5")
        if self.rectify_events and self.wants(EVENT_REF.name):
            raise ValueError(
                "--rectify-events needs --event-format npy: a ref entry points at the raw "
                "events of the source, which are not rectified"
            )
        if self.shard_seconds is not None and self.shard_seconds <= 0:
            raise ValueError(f"shard length must be > 0 s, got {self.shard_seconds}")

    def _resolved_components(self) -> tuple[str, ...]:
        """``--tensors`` asks for event tensors; ``--event-format ref`` puts the ref store
        where the npy files would be."""
        found = list(self.components)
        if self.event_tensor.specs and EVENT_TENSOR.name not in found:
            found.append(EVENT_TENSOR.name)
        if self.event_format == "ref":
            found = [EVENT_REF.name if c == EVENT_NPY.name else c for c in found]
        return tuple(dict.fromkeys(found))

    @property
    def output(self) -> OutputLayout:
        """Where this build's files go (the folder-name scheme of ``--layout``)."""
        return OutputLayout(self.out, self.layout)

    def plan_sequence(self, timestamps: NDArray[np.int64]) -> SequencePlan:
        """Every clip of every duration of a sequence with these image timestamps."""
        return plan_sequence(
            timestamps, self.durations, self.overlap, self.shard_us, self.image_idx,
            self.windows, self.sync,
        )  # fmt: skip

    @property
    def frames_at_window_end(self) -> bool:
        """Per-frame windows in front of their frame end where the frame is."""
        return self.windows == PER_FRAME and self.sync == FRONT

    @property
    def shard_us(self) -> int | None:
        return None if self.shard_seconds is None else round(self.shard_seconds * 1e6)

    def wants(self, kind: str) -> bool:
        return kind in self.components

    @property
    def kinds(self) -> tuple[Kind, ...]:
        """The kinds this build writes, in registry order."""
        return tuple(k for k in BY_NAME.values() if k.name in self.components)

    def options_of(self, kind: Kind) -> Any:
        """``kind``'s own options group (None for a kind without options)."""
        return kind.options_of(self)


def help_groups() -> dict[str, str]:
    """The groups of ``build -h`` and ``plan -h`` in the order shown, key -> title: a
    shared option's ``group=``, or a kind's name for the kind's own options."""
    own = {k.name: f"{k.name} ({k.title})" for k in BY_NAME.values() if k.options_type}
    shared = SHARED_GROUPS
    return {INPUT: shared[INPUT], WINDOWS: shared[WINDOWS], **own, OUTPUT: shared[OUTPUT]}


def to_json_value(value: Any) -> Any:
    """An option value in the JSON form the state files store."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Duration):
        return value.label
    if isinstance(value, TensorSpec):
        return value.text
    if isinstance(value, tuple):
        return [to_json_value(v) for v in value]
    return value


def config_to_json(config: BuildConfig) -> dict[str, Any]:
    """Every option by dotted name, JSON-ready, so ``verify --fix`` can rebuild with it."""
    return {d.name: to_json_value(value_of(config, d.name)) for d in declared(BuildConfig)}


def current_name(name: str) -> str:
    """An option's dotted name today, from the name an older output recorded: 0.1.0 wrote
    last names (``crf``), 0.2.0 other groups (``video.crf``, ``images.count``); last
    names are unique, so they map."""
    return _BY_LAST_NAME.get(name.rsplit(".", 1)[-1], name)


def config_from_json(data: dict[str, Any]) -> BuildConfig:
    """The inverse of :func:`config_to_json` (also reads the names of older versions)."""
    flat = {current_name(name): value for name, value in _flatten(data).items()}
    values = {}
    for d in declared(BuildConfig):
        if d.name in flat:
            hint = typing.get_type_hints(d.owner)[d.field.name]
            values[d.name] = _from_json_value(hint, flat[d.name])
    return typing.cast(BuildConfig, build_from(BuildConfig, values))


_BY_LAST_NAME = {d.name.rsplit(".", 1)[-1]: d.name for d in declared(BuildConfig)}


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _from_json_value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if hint is Path:
        return Path(value)
    if isinstance(value, list):
        if Duration in typing.get_args(hint):
            return tuple(Duration.parse(v) for v in value)
        if TensorSpec in typing.get_args(hint):
            return parse_tensor_specs(",".join(value)) if value else ()
        return tuple(value)
    return value
