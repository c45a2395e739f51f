"""``event_image``: EventGPT's N event images of each clip, split by event count.

Painted in the pass as the events stream by, one canvas alive per clip
(``render.event_image.PartPainter``), compressed to PNG on the image lane. ``verify``
decodes every part at the sensor size in the style's colour mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from egpt_dsec.durations import Duration
from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH, Events
from egpt_dsec.kinds.base import WINDOWS, ClipEntry, ClipPart, Found, Kind, Place
from egpt_dsec.kinds.contexts import CheckTask, Cost, CostModel, Throughput, UnitContext, Workload
from egpt_dsec.layout.output import clip_part
from egpt_dsec.options import check_choices, option
from egpt_dsec.plan.clips import Clip
from egpt_dsec.render.event_image import IMAGE_STYLES, ImageStyle, PartPainter
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.state.manifest import ClipRecord
from egpt_dsec.writers.png import save_png

EVENT_IMAGE_SIZE = (SENSOR_WIDTH, SENSOR_HEIGHT)


@dataclass(frozen=True)
class EventImageOptions:
    """How each clip's events are drawn: N images split by event count."""

    count: int = option(
        5, flag="--event-images", help="images per clip", example="1", parse=int, metavar="N"
    )
    rate_hz: float | None = option(
        None,
        flag="--event-image-rate",
        help="images per second of clip instead of a fixed count (N = duration x Hz, >= 1)",
        example="2",
        parse=float,
        show=lambda rate: "off, the fixed count" if rate is None else f"{rate:g}",
        metavar="HZ",
    )
    style: ImageStyle = option(
        "last",
        flag="--event-image-style",
        help="last: the last event at a pixel wins (EventGPT inference); red/blue: that "
        "polarity wins (EventGPT training loader); gray: accumulated polarity, RGBA",
        choices=IMAGE_STYLES,
        metavar="STYLE",
    )
    compress_level: int = option(
        1, flag="--png-compress", help="PNG zlib level 0-9", example="6", parse=int, metavar="N"
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


class ImagePart(ClipPart):
    """Painted here, one canvas alive at a time, compressed by the image lane."""

    wants_events = True
    options: EventImageOptions

    def __init__(
        self, kind: Kind, ctx: UnitContext, clip: Clip, num_events: int, options: Any
    ) -> None:
        super().__init__(kind, ctx, clip, num_events, options)
        self.parts = options.count_for(clip.duration)
        self._painter = PartPainter(num_events, self.parts, options.style)

    def feed_events(self, offset: int, events: Events) -> None:
        with self.ctx.stats.timed("render"):
            done = self._painter.feed_events(events)
        self._save(done)

    def close(self) -> None:
        self._save(self._painter.finish())

    def commit(self) -> None:
        for part in range(self.parts):
            self.ctx.stats.images_written += 1
            self.count_file(self.path(part))

    def finished_files(self) -> list[Path]:
        return [self.path(part) for part in range(self.parts)]

    def _save(self, done: list[tuple[int, NDArray[np.uint8]]]) -> None:
        for part, pixels in done:
            self.pending.append(self.ctx.lanes.images.submit(self._save_png, part, pixels))

    def _save_png(self, part: int, pixels: NDArray[np.uint8]) -> None:
        with self.ctx.stats.timed("write_png"):
            save_png(self.path(part), pixels, self.options.compress_level)


class EventImageKind(Kind):
    def part_type(self, options: Any) -> type[ClipPart]:
        return ImagePart

    def entry_fields(self, entry: ClipEntry, place: Place, options: Any) -> dict[str, Any]:
        r = entry.record
        rels = [self.clip_rel(entry.sequence, r.clip, part) for part in range(r.parts)]
        return {self.entry_key: [place(entry, self, rel) for rel in rels]}

    def clip_cost(self, clip: Clip, events: int, options: Any, model: CostModel) -> Cost:
        parts = options.count_for(clip.duration)
        k = events // parts
        png = (parts - 1) * model.png_bytes(k) + model.png_bytes(events - (parts - 1) * k)
        return Cost(parts, png)

    def cpu_seconds(self, work: Workload, options: Any, speed: Throughput) -> float:
        return work.clip_events * speed.render_event + work.files.get(self.name, 0) * (
            speed.png_image
        )

    def check(self, task: CheckTask, options: Any, events: EventFile | None) -> Found:
        """Each of the record's parts is a good PNG, and no further part exists."""
        r = task.record
        mode = "RGBA" if options.style == "gray" else "RGB"
        problems = []
        for part in range(r.parts):
            path = task.path(self, part)
            what = _png_problem(path, mode) if task.present(self, path) else "missing"
            if what:
                problems.append(task.problem(self.name, path, what))
        for part, path in self.parts_found(task):
            if part >= r.parts:
                problems.append(task.problem(self.name, path, f"extra part (clip has {r.parts})"))
        return problems

    def file_count(self, record: ClipRecord, options: Any) -> int:
        return record.parts

    def files_of(self, task: CheckTask) -> list[Path]:
        return [path for _, path in self.parts_found(task)]

    def parts_found(self, task: CheckTask) -> list[tuple[int, Path]]:
        """(part, path) of every image of the clip found in its folder, however many."""
        folder = task.path(self).parent
        found = []
        for name in sorted(task.listing.get(self.name, frozenset())):
            part = clip_part(self, name, task.record.clip)
            if part is not None:
                found.append((part, folder / name))
        return found


EVENT_IMAGE = EventImageKind(
    "event_image",
    template="{sequence}/{clip}_{part}.png",
    entry_key="event_image",
    depends_on=(*WINDOWS, "rectify_events"),
    options_type=EventImageOptions,
    title="the clip's event images, PNG",
    checked_by="every part decodes fully at the sensor size, in the style's colour mode",
)


def _png_problem(path: Path, mode: str) -> str | None:
    """Decode fully: ``verify`` checks every chunk CRC, ``load`` every pixel."""
    try:
        with Image.open(path, formats=["PNG"]) as image:
            image.verify()
        with Image.open(path, formats=["PNG"]) as image:
            image.load()
            size, got = image.size, image.mode
    except Exception as exc:  # Pillow raises many kinds for broken files
        return f"cannot be decoded ({type(exc).__name__}: {exc})"
    if size != EVENT_IMAGE_SIZE:
        return f"size {size[0]}x{size[1]}, expected {EVENT_IMAGE_SIZE[0]}x{EVENT_IMAGE_SIZE[1]}"
    if got != mode:
        return f"mode {got}, expected {mode}"
    return None
