"""Build options as one typed, frozen value: declared once here (default, flag, help),
parsed by the CLI, recorded beside the output, passed to the library.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from egpt_dsec import argtypes
from egpt_dsec.durations import DEFAULT_DURATIONS, Duration
from egpt_dsec.kinds import KIND_NAMES
from egpt_dsec.layout.output import LEGACY, OUTPUT_LAYOUTS, STANDARD, OutputLayout
from egpt_dsec.options import build_from, check_choices, declared, option, value_of
from egpt_dsec.plan.clips import IMAGE_IDX_RULES

IMAGE_STYLES: tuple[str, ...] = ("last", "red", "blue", "gray")
FRAME_MODES: tuple[str, ...] = ("hardlink", "copy", "symlink")
MP4_MODES: tuple[str, ...] = ("encode", "remux")
EVENT_FORMATS: tuple[str, ...] = ("npy", "ref")
CAMERA_VIEW, EVENT_VIEW = "camera", "event"  # --frames-view: DSEC's frames, or warped
FRAME_VIEWS: tuple[str, ...] = (CAMERA_VIEW, EVENT_VIEW)
CAMERAS: tuple[str, ...] = ("left", "right")

ImageStyle = Literal["last", "red", "blue", "gray"]
FrameMode = Literal["hardlink", "copy", "symlink"]

DEFAULT_QUESTIONS: tuple[str, ...] = (
    "Describe what happens in this event stream.",
    "What objects are moving in the scene, and how?",
    "Summarize the motion captured by the event camera.",
    "What is the camera observing in this clip?",
)


def _labels(durations: tuple[Duration, ...]) -> str:
    return ",".join(d.label for d in durations)


def _csv(values: tuple[str, ...] | None) -> str:
    return "all" if values is None else ",".join(values)


@dataclass(frozen=True)
class EventImageOptions:
    """How each clip's events are drawn: N images split by event count."""

    count: int = option(5, flag="--event-images", help="images per clip", example="1", parse=int)
    rate_hz: float | None = option(
        None,
        flag="--event-image-rate",
        help="images per second of clip instead of a fixed count (N = duration x Hz, >= 1)",
        example="2",
        parse=float,
    )
    style: ImageStyle = option(
        "last",
        flag="--event-image-style",
        help="last: the last event at a pixel wins (EventGPT inference); red/blue: that "
        "polarity wins (EventGPT training loader); gray: accumulated polarity, RGBA",
        example="red",
        choices=IMAGE_STYLES,
    )
    compress_level: int = option(
        1, flag="--png-compress", help="PNG zlib level 0-9", example="6", parse=int
    )

    def __post_init__(self) -> None:
        check_choices(self)
        if self.count < 1:
            raise ValueError(f"event images per clip must be >= 1, got {self.count}")
        if self.rate_hz is not None and self.rate_hz <= 0:
            raise ValueError(f"event image rate must be > 0 Hz, got {self.rate_hz}")
        if not 0 <= self.compress_level <= 9:
            raise ValueError(f"PNG compress level must be 0..9, got {self.compress_level}")

    def count_for(self, duration: Duration) -> int:
        if self.rate_hz is None:
            return self.count
        return max(1, round(duration.seconds * self.rate_hz))


@dataclass(frozen=True)
class VideoOptions:
    """How clip frames become an H.264 MP4 (Video-LLaVA) and a frame folder."""

    fps: int = 20  # DSEC frames are 20 Hz: one MP4 frame per image
    preset: str = option("fast", flag="--preset", help="x264 preset", example="medium")
    crf: int = option(
        28, flag="--crf", help="x264 constant rate factor 0-51", example="23", parse=int
    )
    size: tuple[int, int] | None = option(
        None,
        flag="--video-size",
        help="MP4 size WxH, made even for yuv420p (default: the source size)",
        example="640x480",
        parse=argtypes.size,
    )
    mode: Literal["encode", "remux"] = option(
        "remux",
        flag="--mp4-mode",
        help="remux: encode each work unit once and cut every clip by packet copy; "
        "encode: one encode per clip",
        example="encode",
        choices=MP4_MODES,
    )
    frames: FrameMode = option(
        "hardlink",
        flag="--frames",
        help="how clip frame folders get the PNGs (hardlink falls back to copy across "
        "file systems)",
        example="symlink",
        choices=FRAME_MODES,
    )

    def __post_init__(self) -> None:
        check_choices(self)
        if not 0 <= self.crf <= 51:
            raise ValueError(f"crf must be 0..51, got {self.crf}")
        if self.fps <= 0:
            raise ValueError(f"fps must be > 0, got {self.fps}")
        if self.size is not None and (self.size[0] < 2 or self.size[1] < 2):
            raise ValueError(f"video size must be at least 2x2, got {self.size}")


def read_questions(path: Path) -> tuple[str, ...]:
    """One question per line; blank lines are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(
            f"--questions {path}: cannot be read ({exc.strerror or exc}); "
            "give a text file with one question per line"
        ) from None
    questions = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not questions:
        raise ValueError(f"--questions {path}: the file holds no question (one per line)")
    return questions


@dataclass(frozen=True)
class BuildConfig:
    """Everything a build needs; equal configs give byte-identical outputs."""

    dsec_root: Path = option(
        flag="--dsec-root",
        help="the DSEC root: the folder holding train/ and test/ (each with one folder "
        "per sequence)",
        example="/data/DSEC",
        parse=Path,
    )
    out: Path = option(
        flag="--out",
        help="the output folder (created; must not be inside, equal to or around the DSEC root)",
        example="/data/egpt-dsec",
        parse=Path,
    )
    splits: tuple[str, ...] | None = option(
        None,
        flag="--splits",
        help="split folders to build (default: all)",
        example="train",
        parse=argtypes.csv_list,
        show=_csv,
    )
    sequences: tuple[str, ...] | None = option(
        None,
        flag="--sequences",
        help="sequences to build (default: all)",
        example="interlaken_00_c,zurich_city_04_a",
        parse=argtypes.csv_list,
        show=_csv,
    )
    durations: tuple[Duration, ...] = option(
        DEFAULT_DURATIONS,
        flag="--durations",
        help="clip durations",
        example="500ms,1s,2s",
        parse=argtypes.durations,
        show=_labels,
    )
    overlap: float = option(
        0.5, flag="--overlap", help="window overlap, 0 <= overlap < 1", example="0", parse=float
    )
    components: tuple[str, ...] = option(
        KIND_NAMES,
        flag="--components",
        help="output kinds to write",
        example="event_npy,json",
        parse=argtypes.csv_list,
        show=",".join,
    )
    camera: str = option("left", flag="--camera", help="DSEC camera", choices=CAMERAS)
    workers: int = option(
        1, flag="--workers", help="jobs (work units) run in parallel", example="2", parse=int
    )
    images: EventImageOptions = field(default_factory=EventImageOptions)
    video: VideoOptions = field(default_factory=VideoOptions)
    questions: tuple[str, ...] = option(
        DEFAULT_QUESTIONS,
        flag="--questions",
        help="text file, one question per line, for the human turn (default: 4 built in)",
        example="questions.txt",
        parse=Path,
        to_value=read_questions,
        show=lambda q: f"{len(q)} built in",
    )
    event_format: Literal["npy", "ref"] = option(
        "npy",
        flag="--event-format",
        help="npy: a copy of the events per clip; ref: the JSON points into the source "
        "events.h5, read with egpt_dsec.load_clip_events",
        example="ref",
        choices=EVENT_FORMATS,
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
    )
    image_idx: str = option(
        "first",
        flag="--image-idx",
        help="the frame a clip's image_idx names: first = the first frame inside the clip "
        "(the replaced scripts); nearest-end = the frame nearest time_end",
        choices=IMAGE_IDX_RULES,
        before="nearest-end",
    )
    rectify_events: bool = option(
        False,
        flag="--rectify-events",
        help="map event coordinates through the sequence's rectify_map into the rectified "
        "event view (rounded; events landing outside 640x480 are dropped and counted), for "
        "the npy files and the event images",
        switch=True,
        before=False,
    )
    frames_view: str = option(
        "camera",
        flag="--frames-view",
        help="camera: DSEC's frames as they are; event: frames warped into the rectified "
        "event view at 640x480 (needs calibration/cam_to_cam.yaml), for the frame folders "
        "and the MP4s",
        choices=FRAME_VIEWS,
        before="camera",
    )
    layout: str = option(
        STANDARD,
        flag="--layout",
        help=f"output folder names: {STANDARD} = OUT/<split>/<duration>/; {LEGACY} = the "
        "replaced scripts' my_egpt_dsec_train/my_egpt_dsec_train_<duration>/ and "
        "my_egpt_dsec_test/my_egpt_dsec_seq_<duration>/",
        choices=OUTPUT_LAYOUTS,
        before=STANDARD,
    )
    max_chunk_events: int = 4_000_000  # events read per step: bounds a job's memory

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
        if not self.questions:
            raise ValueError("the question list is empty")
        if self.rectify_events and self.event_format == "ref":
            raise ValueError(
                "--rectify-events needs --event-format npy: a ref entry points at the raw "
                "events of the source, which are not rectified"
            )
        if self.shard_seconds is not None and self.shard_seconds <= 0:
            raise ValueError(f"shard length must be > 0 s, got {self.shard_seconds}")

    @property
    def output(self) -> OutputLayout:
        """Where this build's files go (the folder-name scheme of ``--layout``)."""
        return OutputLayout(self.out, self.layout)

    @property
    def shard_us(self) -> int | None:
        return None if self.shard_seconds is None else round(self.shard_seconds * 1e6)

    def wants(self, kind: str) -> bool:
        return kind in self.components


def to_json_value(value: Any) -> Any:
    """An option value in the JSON form the state files store."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Duration):
        return value.label
    if isinstance(value, tuple):
        return [to_json_value(v) for v in value]
    return value


def config_to_json(config: BuildConfig) -> dict[str, Any]:
    """Every option by dotted name, JSON-ready, so ``verify --fix`` can rebuild with it."""
    return {d.name: to_json_value(value_of(config, d.name)) for d in declared(BuildConfig)}


def config_from_json(data: dict[str, Any]) -> BuildConfig:
    """The inverse of :func:`config_to_json` (also reads the nested form of 0.1.0)."""
    flat = _flatten(data)
    values = {}
    for d in declared(BuildConfig):
        if d.name in flat:
            hint = typing.get_type_hints(d.owner)[d.field.name]
            values[d.name] = _from_json_value(hint, flat[d.name])
    return typing.cast(BuildConfig, build_from(BuildConfig, values))


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
        return tuple(value)
    return value
