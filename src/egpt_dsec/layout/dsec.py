"""Where a DSEC sequence's files are, in both official layouts.

After unzipping the split archives into ``<root>/<split>/``, a sequence holds
``events/<camera>/{events,rectify_map}.h5``; the per-sequence downloads unpack the
events to ``events_<camera>/`` instead. Both have ``images/timestamps.txt`` and the
frames in ``images/<camera>/rectified/NNNNNN.png``; the calibration archives add
``calibration/cam_to_cam.yaml``; DSEC-Detection's archives add the labelled object
boxes, ``object_detections/<camera>/tracks.npy``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SPLIT_ARCHIVES = "split"  # events/<camera>/
PER_SEQUENCE = "sequence"  # events_<camera>/
LAYOUTS: tuple[str, ...] = (SPLIT_ARCHIVES, PER_SEQUENCE)
LAYOUT_HELP = "events/left/ (split archives) or events_left/ (per-sequence downloads)"
EXPECTED_LAYOUT = (
    "<root>/<split>/<sequence>/ holding images/timestamps.txt, images/left/rectified/*.png "
    "and events/left/events.h5 (or events_left/events.h5)"
)

EVENTS_FILE = "events.h5"
CALIBRATION = ("calibration", "cam_to_cam.yaml")  # from DSEC's calibration archives
CALIBRATION_NAME = "/".join(CALIBRATION)
RECTIFY_MAP_FILE = "rectify_map.h5"
OBJECT_DETECTIONS = "object_detections"  # DSEC-Detection: <seq>/object_detections/left/
TRACKS_FILE = "tracks.npy"
TRACKS_NAME = f"{OBJECT_DETECTIONS}/<camera>/{TRACKS_FILE}"  # for messages
OBJECT_DETECTIONS_ARCHIVE = f"<split>_{OBJECT_DETECTIONS}.zip"  # DSEC-Detection's download
TIMESTAMPS = ("images", "timestamps.txt")
TIMESTAMPS_NAME = "/".join(TIMESTAMPS)  # for messages: "images/timestamps.txt"
FRAME_NAME = "{index:06d}.png"
FRAME_SUFFIX = ".png"
# ``egpt-dsec synth`` leaves this file at the top of the root it writes: the data is
# synthetic test data, not DSEC. A file, not a folder, so it is never taken for a split;
# the lines of it starting with SYNTH_COMMAND are the commands that made the root.
SYNTHETIC_MARKER = "SYNTHETIC.md"
SYNTH_COMMAND = "egpt-dsec synth"


def frame_index(name: str) -> int | None:
    """The index in a DSEC frame name (``000042.png`` -> 42; any zero padding), else None."""
    stem, dot, suffix = name.rpartition(".")
    if dot and f".{suffix}" == FRAME_SUFFIX and stem.isdigit() and stem.isascii():
        return int(stem)
    return None


def _events_dir_names(camera: str) -> dict[str, tuple[str, ...]]:
    return {SPLIT_ARCHIVES: ("events", camera), PER_SEQUENCE: (f"events_{camera}",)}


@dataclass(frozen=True)
class SequenceFiles:
    """The files of one sequence folder; nothing is opened here.

    ``layout`` None reads either layout (the split archives' unless only the
    per-sequence folder exists); synth passes the one it writes.
    """

    folder: Path
    camera: str = "left"
    layout: str | None = None

    @property
    def events_dir(self) -> Path:
        names = _events_dir_names(self.camera)
        if self.layout is not None:
            return self.folder.joinpath(*names[self.layout])
        archive = self.folder.joinpath(*names[SPLIT_ARCHIVES])
        per_sequence = self.folder.joinpath(*names[PER_SEQUENCE])
        if not archive.exists() and per_sequence.exists():
            return per_sequence
        return archive

    @property
    def events_h5(self) -> Path:
        return self.events_dir / EVENTS_FILE

    @property
    def rectify_map(self) -> Path:
        return self.events_dir / RECTIFY_MAP_FILE

    @property
    def calibration(self) -> Path:
        return self.folder.joinpath(*CALIBRATION)

    @property
    def tracks(self) -> Path:
        """DSEC-Detection's labelled boxes of the event camera (``*_object_detections.zip``)."""
        return self.folder / OBJECT_DETECTIONS / self.camera / TRACKS_FILE

    @property
    def timestamps(self) -> Path:
        return self.folder.joinpath(*TIMESTAMPS)

    @property
    def frames_dir(self) -> Path:
        return self.folder / "images" / self.camera / "rectified"

    def frame(self, index: int) -> Path:
        """The DSEC name of frame ``index`` (what synth writes)."""
        return self.frames_dir / FRAME_NAME.format(index=index)


def synthetic_marker(root: Path) -> Path:
    """``<root>/SYNTHETIC.md``: present only in a root that ``egpt-dsec synth`` wrote."""
    return root / SYNTHETIC_MARKER


def split_folder(root: Path, split: str) -> Path:
    """``<root>/<split>``: where a split archive was unzipped."""
    return root / split


def sequence_folder(root: Path, split: str, name: str) -> Path:
    """``<root>/<split>/<name>``: a sequence inside a DSEC root."""
    return split_folder(root, split) / name


def looks_like_sequence(folder: Path) -> bool:
    """A sequence folder has its image timestamps or an events folder of either layout."""
    if folder.joinpath(*TIMESTAMPS).is_file():
        return True
    return any(folder.joinpath(*names).is_dir() for names in _events_dir_names("left").values())
