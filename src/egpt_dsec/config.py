"""Build options as one typed, frozen value: parsed by the CLI, passed to the library."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from egpt_dsec.durations import DEFAULT_DURATIONS, Duration

COMPONENTS: tuple[str, ...] = ("event_npy", "event_image", "video", "mp4", "json")
IMAGE_STYLES: tuple[str, ...] = ("last", "red", "blue", "gray")
FRAME_MODES: tuple[str, ...] = ("hardlink", "copy", "symlink")
MP4_MODES: tuple[str, ...] = ("encode", "remux")
EVENT_FORMATS: tuple[str, ...] = ("npy", "ref")

ImageStyle = Literal["last", "red", "blue", "gray"]
FrameMode = Literal["hardlink", "copy", "symlink"]

DEFAULT_QUESTIONS: tuple[str, ...] = (
    "Describe what happens in this event stream.",
    "What objects are moving in the scene, and how?",
    "Summarize the motion captured by the event camera.",
    "What is the camera observing in this clip?",
)


@dataclass(frozen=True)
class EventImageOptions:
    """How each clip's events are drawn: N images split by event count."""

    count: int = 5
    rate_hz: float | None = None  # if set, N = round(duration_s * rate_hz), at least 1
    style: ImageStyle = "last"
    compress_level: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"event images per clip must be >= 1, got {self.count}")
        if self.rate_hz is not None and self.rate_hz <= 0:
            raise ValueError(f"event image rate must be > 0 Hz, got {self.rate_hz}")
        if self.style not in IMAGE_STYLES:
            raise ValueError(f"event image style must be one of {IMAGE_STYLES}, got {self.style!r}")
        if not 0 <= self.compress_level <= 9:
            raise ValueError(f"PNG compress level must be 0..9, got {self.compress_level}")

    def count_for(self, duration: Duration) -> int:
        if self.rate_hz is None:
            return self.count
        return max(1, round(duration.seconds * self.rate_hz))


@dataclass(frozen=True)
class VideoOptions:
    """How clip frames become an H.264 MP4 (Video-LLaVA) and a frame folder."""

    fps: int = 20
    preset: str = "fast"
    crf: int = 28
    size: tuple[int, int] | None = None  # (width, height); None = source size, made even
    mode: Literal["encode", "remux"] = "remux"
    frames: FrameMode = "hardlink"

    def __post_init__(self) -> None:
        if not 0 <= self.crf <= 51:
            raise ValueError(f"crf must be 0..51, got {self.crf}")
        if self.fps <= 0:
            raise ValueError(f"fps must be > 0, got {self.fps}")
        if self.size is not None and (self.size[0] < 2 or self.size[1] < 2):
            raise ValueError(f"video size must be at least 2x2, got {self.size}")
        if self.mode not in MP4_MODES:
            raise ValueError(f"mp4 mode must be one of {MP4_MODES}, got {self.mode!r}")
        if self.frames not in FRAME_MODES:
            raise ValueError(f"frames mode must be one of {FRAME_MODES}, got {self.frames!r}")


@dataclass(frozen=True)
class BuildConfig:
    """Everything a build needs; equal configs give byte-identical outputs."""

    dsec_root: Path
    out: Path
    splits: tuple[str, ...] | None = None  # None = every split folder under the root
    sequences: tuple[str, ...] | None = None  # None = every sequence
    durations: tuple[Duration, ...] = DEFAULT_DURATIONS
    overlap: float = 0.5
    components: tuple[str, ...] = COMPONENTS
    camera: str = "left"
    workers: int = 1
    images: EventImageOptions = field(default_factory=EventImageOptions)
    video: VideoOptions = field(default_factory=VideoOptions)
    questions: tuple[str, ...] = DEFAULT_QUESTIONS
    event_format: Literal["npy", "ref"] = "npy"
    shard_seconds: float | None = 60.0  # work-unit length; None = whole sequences
    max_chunk_events: int = 4_000_000

    def __post_init__(self) -> None:
        if not 0 <= self.overlap < 1:
            raise ValueError(f"overlap must be in [0, 1), got {self.overlap}")
        unknown = set(self.components) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown components {sorted(unknown)}; choose from {COMPONENTS}")
        if not self.components:
            raise ValueError("no components selected")
        if not self.durations:
            raise ValueError("no durations selected")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.camera not in ("left", "right"):
            raise ValueError(f"camera must be left or right, got {self.camera!r}")
        if not self.questions:
            raise ValueError("the question list is empty")
        if self.event_format not in EVENT_FORMATS:
            raise ValueError(
                f"event format must be one of {EVENT_FORMATS}, got {self.event_format!r}"
            )
        if self.shard_seconds is not None and self.shard_seconds <= 0:
            raise ValueError(f"shard length must be > 0 s, got {self.shard_seconds}")

    @property
    def shard_us(self) -> int | None:
        return None if self.shard_seconds is None else round(self.shard_seconds * 1e6)

    def wants(self, component: str) -> bool:
        return component in self.components


def config_to_json(config: BuildConfig) -> dict[str, Any]:
    """A JSON-ready form of the config, so ``verify --fix`` can rebuild with it."""
    data = asdict(config)
    data["dsec_root"], data["out"] = str(config.dsec_root), str(config.out)
    data["durations"] = [d.label for d in config.durations]
    return data


def config_from_json(data: dict[str, Any]) -> BuildConfig:
    video = dict(data["video"])
    video["size"] = tuple(video["size"]) if video.get("size") else None
    tuples = ("splits", "sequences", "components", "questions")
    return BuildConfig(
        **{
            **data,
            **{k: tuple(data[k]) if data[k] is not None else None for k in tuples},
            "dsec_root": Path(data["dsec_root"]),
            "out": Path(data["out"]),
            "durations": tuple(Duration.parse(d) for d in data["durations"]),
            "images": EventImageOptions(**data["images"]),
            "video": VideoOptions(**video),
        }
    )
