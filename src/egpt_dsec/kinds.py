"""The five output kinds, listed once: what each writes, which options change its bytes,
and what ``verify`` checks. Every layer (config, layout, the clip builder, the JSON
writer, the options record, verify, status) reads this table instead of its own list.
"""

from __future__ import annotations

from dataclasses import dataclass

# Options that place the clip windows, or name the folders, so every kind depends on them.
_WINDOWS = ("overlap", "camera", "layout")


@dataclass(frozen=True)
class OutputKind:
    """One kind of output; ``name`` is also its folder under a duration folder."""

    name: str
    template: str  # one clip's path inside the kind's folder; "" for json (per duration)
    entry_key: str  # the EventGPT entry key naming the clip's file(s); "" for json
    options: tuple[str, ...]  # config fields (dotted) that change its bytes
    checked_by: str  # what verify checks, in words (help and docs)

    @property
    def per_clip(self) -> bool:
        """Written by the streaming pass, clip by clip (json is written once per build)."""
        return bool(self.template)


EVENT_NPY = OutputKind(
    "event_npy",
    "{sequence}/{clip}.npy",
    "event_data",
    (*_WINDOWS, "event_format", "image_idx", "rectify_events"),
    "loaded with a restricted unpickler: keys, dtypes, count, time range, "
    "and with --dsec-root the very events of the source window",
)
EVENT_IMAGE = OutputKind(
    "event_image",
    "{sequence}/{clip}_{part}.png",
    "event_image",
    (
        *_WINDOWS,
        "images.count",
        "images.rate_hz",
        "images.style",
        "images.compress_level",
        "rectify_events",
    ),
    "every part decodes fully at the sensor size, in the style's colour mode",
)
VIDEO = OutputKind(
    "video",
    "{sequence}/{clip}",
    "video_data",
    (*_WINDOWS, "video.frames", "frames_view"),
    "exactly the clip's frames, each resolving to a non-empty file (the source's with --dsec-root)",
)
MP4 = OutputKind(
    "mp4",
    "{sequence}/{clip}.mp4",
    "mp4_data",
    # Remux encodes one work unit at a time: the shard length decides where encodes start.
    (
        *_WINDOWS,
        *(f"video.{name}" for name in ("fps", "preset", "crf", "size", "mode")),
        "shard_seconds",
        "frames_view",
    ),
    "H.264 yuv420p that decodes to exactly the clip's frame count, also stored in the "
    "container; one size per sequence",
)
JSON = OutputKind(
    "json",
    "",
    "",
    (*_WINDOWS, "questions", "image_idx", "rectify_events"),
    "lists exactly the finished non-empty clips, every path it names exists, and its "
    "bytes equal what the manifest gives",
)

KINDS: tuple[OutputKind, ...] = (EVENT_NPY, EVENT_IMAGE, VIDEO, MP4, JSON)
FILE_KINDS: tuple[OutputKind, ...] = tuple(k for k in KINDS if k.per_clip)
KIND_NAMES: tuple[str, ...] = tuple(k.name for k in KINDS)
FILE_KIND_NAMES: tuple[str, ...] = tuple(k.name for k in FILE_KINDS)
BY_NAME: dict[str, OutputKind] = {k.name: k for k in KINDS}
