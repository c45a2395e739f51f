"""The build options verify needs, read from the record the build left beside the output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from egpt_dsec.options_record import load_options


@dataclass(frozen=True)
class RecordedOptions:
    """Defaults stand in for options never recorded (an output from before the record)."""

    overlap: float = 0.5
    camera: str = "left"
    event_format: str = "npy"
    image_mode: str | None = None  # "RGB", "RGBA" (gray style), None = either
    video_size: tuple[int, int] | None = None  # requested size, before rounding to even
    questions: tuple[str, ...] | None = None

    @staticmethod
    def load(state_dir: Path) -> RecordedOptions:
        recorded = load_options(state_dir) or {}
        windows = next(iter(recorded.values()), {})  # every component records the windows
        style = recorded.get("event_image", {}).get("style")
        size = recorded.get("mp4", {}).get("size")
        questions = recorded.get("json", {}).get("questions")
        return RecordedOptions(
            overlap=float(windows.get("overlap", 0.5)),
            camera=str(windows.get("camera", "left")),
            event_format=str(recorded.get("event_npy", {}).get("event_format", "npy")),
            image_mode=None if style is None else "RGBA" if style == "gray" else "RGB",
            video_size=(int(size[0]), int(size[1])) if size else None,
            questions=tuple(questions) if questions else None,
        )
