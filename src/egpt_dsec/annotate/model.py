"""The clip as the annotator sees it: ids and files, nothing about the build's layout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ClipToAsk:
    """One built clip: its id in the JSON files and the images that can be shown for it.

    ``frame_times_s`` are the frames' times from the clip start, one per frame path.
    """

    id: str
    split: str
    sequence: str
    duration_label: str
    duration_s: float
    start_s: float
    frame_paths: tuple[Path, ...]
    frame_times_s: tuple[float, ...]
    event_image_paths: tuple[Path, ...] = ()
    reference_frame: Path | None = None  # the frame ``image_idx`` names (--preset legacy)
    mp4_path: Path | None = None  # the clip's MP4, when the build made one (--video)
    event_style: str = "last"  # how the build drew its event images
    video_fps: float = 20.0
    # --with-labels: one line per object DSEC-Detection labels in the clip (None: the
    # sequence has no labels, so nothing is said about it)
    labelled_objects: tuple[str, ...] | None = None
    # Makes a frame file the build keeps only for clips with frame folders (an event-view
    # frame) before it is read; None when every frame file exists.
    ensure: Callable[[Path], None] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.frame_paths) != len(self.frame_times_s):
            raise ValueError(
                f"{self.id}: {len(self.frame_paths)} frames but "
                f"{len(self.frame_times_s)} frame times"
            )

    @property
    def group(self) -> tuple[str, str]:
        """(split, duration label): the JSON files the clip belongs to."""
        return (self.split, self.duration_label)
