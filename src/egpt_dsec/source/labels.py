"""DSEC-Detection's labelled boxes of a sequence: ``object_detections/<camera>/tracks.npy``.

A structured NumPy array, loaded without pickle (a file that needs pickle is refused,
never run), with the fields and dtypes of ``labels.tracks.TRACKS_DTYPE`` (float64
corners of older releases and an extra ``img_name`` are accepted). Checked here: a 1-d
structured array with those fields, finite boxes of non-negative size, known class ids,
and label times within the sequence's image timestamps. A problem raises
:class:`InputError` naming the file, what is wrong and the fix; a missing file is no
error (the sequence gets no label questions).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from egpt_dsec.labels.classes import CLASS_NAMES
from egpt_dsec.labels.tracks import Tracks
from egpt_dsec.labels.view import rectify_boxes
from egpt_dsec.layout.dsec import (
    OBJECT_DETECTIONS_ARCHIVE,
    TIMESTAMPS_NAME,
    TRACKS_NAME,
    SequenceFiles,
)
from egpt_dsec.source.calibration import load_rectify_map
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.timestamps import read_timestamps

LABELS_FIX = (
    "Download DSEC-Detection's object detections archive of the split "
    f"({OBJECT_DETECTIONS_ARCHIVE}, github.com/uzh-rpg/dsec-det) and unzip it into the "
    f"split folder, so that this file is <seq>/{TRACKS_NAME}"
)
_KINDS = {  # field -> accepted dtype kinds, and what the message calls them
    "t": ("ui", "an integer of microseconds (<u8)"),
    "x": ("f", "a float (<f4)"),
    "y": ("f", "a float (<f4)"),
    "w": ("f", "a float (<f4)"),
    "h": ("f", "a float (<f4)"),
    "class_id": ("ui", "an integer class id (u1)"),
    "track_id": ("ui", "an integer track id (<u4)"),
}


def _problem(path: Path, what: str, fix: str = LABELS_FIX) -> InputError:
    return InputError(path, f"malformed labels: {what}", fix)


_NPY_MAGIC = b"\x93NUMPY"


def _load(path: Path) -> NDArray:
    try:
        with path.open("rb") as f:
            magic = f.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise _problem(path, f"unreadable ({exc})") from None
    if magic != _NPY_MAGIC:
        raise _problem(path, "not a NumPy .npy file (no .npy header)")
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise _problem(path, "it holds Python objects (loading it needs pickle)") from None
        raise _problem(path, f"not a valid NumPy .npy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise _problem(path, f"unreadable ({exc})") from None
    return arr


def _check_fields(path: Path, arr: NDArray) -> None:
    names = arr.dtype.names or ()
    if arr.ndim != 1 or not names:
        raise _problem(
            path, f"a {arr.dtype} array of shape {arr.shape}, not a 1-d structured array"
        )
    missing = [name for name in _KINDS if name not in names]
    if missing:
        raise _problem(path, f"no field {', '.join(missing)} (it has {', '.join(names)})")
    for name, (kinds, expected) in _KINDS.items():
        dtype = arr.dtype[name]
        if dtype.kind not in kinds or dtype.shape:
            raise _problem(path, f"field {name!r} is {dtype.str}, expected {expected}")


def _check_values(path: Path, arr: NDArray, span: tuple[int, int]) -> None:
    boxes = np.stack([arr[k].astype(np.float64) for k in ("x", "y", "w", "h")])
    if not np.all(np.isfinite(boxes)):
        raise _problem(path, "a box holds a NaN or infinite value")
    for k in ("w", "h"):
        if np.any(arr[k] < 0):
            n = int(np.count_nonzero(arr[k] < 0))
            raise _problem(path, f"{n} box(es) of negative size ({k} < 0)")
    classes = arr["class_id"].astype(np.int64)
    bad = (classes < 0) | (classes >= len(CLASS_NAMES))
    if np.any(bad):
        raise _problem(
            path, f"unknown class id {int(classes[bad][0])} (known: 0-{len(CLASS_NAMES) - 1})"
        )
    if np.any(arr["track_id"].astype(np.int64) < 0):
        raise _problem(path, "a negative track id")
    t = arr["t"].astype(np.int64)
    outside = (t < span[0]) | (t > span[1])
    if np.any(outside):
        raise _problem(
            path,
            f"{int(np.count_nonzero(outside))} label time(s) outside the sequence's images "
            f"[{span[0]}, {span[1]}] µs (first: {int(t[outside][0])})",
            "It belongs to another sequence, or its t is not on the clock of "
            f"{TIMESTAMPS_NAME}. {LABELS_FIX}",
        )


def read_tracks(path: Path, span: tuple[int, int]) -> NDArray | None:
    """The checked ``tracks.npy`` array, or None if there is none; ``span`` is the first
    and last image timestamp of the sequence."""
    if not path.is_file():
        return None
    arr = _load(path)
    _check_fields(path, arr)
    _check_values(path, arr, span)
    return arr


def sequence_labels(folder: Path, camera: str, rectified: bool) -> Tracks | None:
    """A sequence's boxes, clipped to the image, in the raw event view or (``rectified``)
    moved into the rectified one through its ``rectify_map``; None without labels."""
    files = SequenceFiles(folder, camera)
    if not files.tracks.is_file():
        return None
    stamps = read_timestamps(files.timestamps)
    arr = read_tracks(files.tracks, (int(stamps[0]), int(stamps[-1])))
    if arr is None:
        return None
    tracks = Tracks.from_dsec(arr)
    return rectify_boxes(tracks, load_rectify_map(folder, camera)) if rectified else tracks
