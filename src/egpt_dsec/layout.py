"""Every output path comes from the templates here, defined once.

``OUT/<split>/<duration>/<component>/<sequence>/...``; the paths stored in the
JSON are relative to the component folder (the EventGPT convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from egpt_dsec.durations import Duration

STATE_DIR = ".egpt-dsec"

EVENT_NPY = "{sequence}/{clip}.npy"
EVENT_IMAGE = "{sequence}/{clip}_{part}.png"
VIDEO_DIR = "{sequence}/{clip}"
MP4 = "{sequence}/{clip}.mp4"
DATASET_JSON = "dataset.json"
VIDEOLLAVA_JSON = "videollava.json"


def clip_name(index: int) -> str:
    """Clip ids are the window index, zero-padded so they sort and stay stable."""
    return f"{index:06d}"


@dataclass(frozen=True)
class OutputLayout:
    root: Path

    def duration_dir(self, split: str, duration: Duration) -> Path:
        return self.root / split / duration.label

    def component_dir(self, split: str, duration: Duration, component: str) -> Path:
        return self.duration_dir(split, duration) / component

    def sequence_dirs(self, split: str, duration: Duration, sequence: str) -> list[Path]:
        """The per-sequence folder of each file component."""
        return [
            self.component_dir(split, duration, c) / sequence
            for c in ("event_npy", "event_image", "video", "mp4")
        ]

    def event_npy(self, split: str, duration: Duration, sequence: str, index: int) -> Path:
        rel = EVENT_NPY.format(sequence=sequence, clip=clip_name(index))
        return self.component_dir(split, duration, "event_npy") / rel

    def event_image(
        self, split: str, duration: Duration, sequence: str, index: int, part: int
    ) -> Path:
        rel = EVENT_IMAGE.format(sequence=sequence, clip=clip_name(index), part=part)
        return self.component_dir(split, duration, "event_image") / rel

    def video_dir(self, split: str, duration: Duration, sequence: str, index: int) -> Path:
        rel = VIDEO_DIR.format(sequence=sequence, clip=clip_name(index))
        return self.component_dir(split, duration, "video") / rel

    def mp4(self, split: str, duration: Duration, sequence: str, index: int) -> Path:
        rel = MP4.format(sequence=sequence, clip=clip_name(index))
        return self.component_dir(split, duration, "mp4") / rel

    def dataset_json(self, split: str, duration: Duration) -> Path:
        return self.duration_dir(split, duration) / DATASET_JSON

    def videollava_json(self, split: str, duration: Duration) -> Path:
        return self.duration_dir(split, duration) / VIDEOLLAVA_JSON

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR
