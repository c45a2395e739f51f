"""Pure: a sequence's planned clips, their event counts and a cost model in; the files
and bytes of every kind, per split and duration, out."""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from dataclasses import dataclass, field

from egpt_dsec.config import EVENT_VIEW, BuildConfig
from egpt_dsec.kinds import EVENT_IMAGE, EVENT_NPY, JSON, MP4, VIDEO
from egpt_dsec.plan.clips import Clip
from egpt_dsec.plan.sequence import SequencePlan
from egpt_dsec.state.manifest import ClipKey, ClipRecord
from egpt_dsec.writers.annotations import ClipEntry, annotation_items, render_json
from egpt_dsec.writers.event_npy import ClipMetadata, npy_file_size

MP4_OVERHEAD = 700  # container header of a clip, bytes (measured: 700 + 13 per frame)
MP4_PER_FRAME = 13  # index bytes per frame (stts/stsz/stco entries)
REMUX_KEYFRAME_FRAMES = 5  # remux: an IDR at every clip boundary, every 250 ms at 20 Hz


@dataclass(frozen=True)
class CostModel:
    """Bytes of the outputs whose size depends on content, measured by the probe."""

    png_points: tuple[tuple[int, int], ...]  # (events in an image, PNG bytes), increasing
    mp4_intra: float  # bytes of a keyframe at the video size
    mp4_inter: float  # bytes of any other frame
    frame_bytes: float  # bytes of a source frame PNG (for --frames copy)

    def png_bytes(self, events: int) -> float:
        """Interpolated in log(events) between the measured points, flat beyond them."""
        xs = [n for n, _ in self.png_points]
        ys = [b for _, b in self.png_points]
        if events <= xs[0]:
            return float(ys[0])
        if events >= xs[-1]:
            return float(ys[-1])
        i = bisect.bisect_right(xs, events)
        a, b = math.log(xs[i - 1]), math.log(xs[i])
        w = (math.log(events) - a) / (b - a)
        return ys[i - 1] + w * (ys[i] - ys[i - 1])


@dataclass
class Row:
    """One split and duration: clips, windows without events, files and bytes per kind."""

    split: str
    duration: str
    clips: int = 0
    empty: int = 0
    events: int = 0  # events in the clips (each copy counted)
    files: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bytes: dict[str, float] = field(default_factory=lambda: defaultdict(float))


def mp4_bytes(frames: int, mode: str, model: CostModel) -> float:
    keyframes = -(-frames // REMUX_KEYFRAME_FRAMES) if mode == "remux" else 1
    content = keyframes * model.mp4_intra + (frames - keyframes) * model.mp4_inter
    return MP4_OVERHEAD + MP4_PER_FRAME * frames + content


def add_sequence(
    rows: dict[tuple[str, str], Row],
    split: str,
    plan: SequencePlan,
    events: dict[ClipKey, int],
    config: BuildConfig,
    model: CostModel,
) -> None:
    """Count one sequence's clips into ``rows``, kind by kind."""
    for clip in plan.clips:
        row = rows.setdefault((split, clip.duration.label), Row(split, clip.duration.label))
        n = events[clip.key]
        if n == 0:
            row.empty += 1
            continue
        row.clips += 1
        row.events += n
        frames = clip.frame_stop - clip.frame_start
        if config.wants(EVENT_NPY.name) and config.event_format == "npy":
            row.files[EVENT_NPY.name] += 1
            row.bytes[EVENT_NPY.name] += npy_file_size(ClipMetadata.of(clip, n))
        if config.wants(EVENT_IMAGE.name):
            parts = config.images.count_for(clip.duration)
            row.files[EVENT_IMAGE.name] += parts
            k = n // parts
            row.bytes[EVENT_IMAGE.name] += (parts - 1) * model.png_bytes(k)
            row.bytes[EVENT_IMAGE.name] += model.png_bytes(n - (parts - 1) * k)
        if config.wants(VIDEO.name):
            row.files[VIDEO.name] += frames
            if config.video.frames == "copy":
                row.bytes[VIDEO.name] += frames * model.frame_bytes
        if config.wants(MP4.name):
            row.files[MP4.name] += 1
            row.bytes[MP4.name] += mp4_bytes(frames, config.video.mode, model)
    if config.wants(VIDEO.name) and config.frames_view == EVENT_VIEW:
        # The warped frames, once per sequence: counted with the shortest duration, whose
        # clips hold every frame any clip holds.
        shortest = min(config.durations).label
        row = rows.setdefault((split, shortest), Row(split, shortest))
        kept = kept_frames(plan, events)
        row.files[VIDEO.name] += kept
        row.bytes[VIDEO.name] += kept * model.frame_bytes


def kept_frames(plan: SequencePlan, events: dict[ClipKey, int]) -> int:
    """Event view: the frames warped and kept (those of the clips with events)."""
    return len({i for c in plan.clips if events[c.key] for i in c.frame_indices})


def json_bytes(entries: list[ClipEntry], config: BuildConfig) -> float:
    """Bytes of these entries in the JSON files, rendered by the build's own writer: once
    in their duration's files, once (with longer paths) in the split's combined files."""
    eventgpt, videollava = annotation_items(entries, config.questions)
    return 2 * (len(render_json(eventgpt)) + (len(render_json(videollava)) if videollava else 0))


def planned_record(clip: Clip, events: int, config: BuildConfig) -> ClipRecord:
    """The manifest record a clip will get (for rendering its JSON entry ahead)."""
    components = tuple(sorted(k for k in config.components if k != JSON.name))
    return ClipRecord(
        clip.duration.label, clip.index, clip.t0, clip.t1, events, clip.frame_start,
        clip.frame_stop, config.images.count_for(clip.duration), components, 0, clip.image_idx,
    )  # fmt: skip
