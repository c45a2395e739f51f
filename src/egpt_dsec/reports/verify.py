"""``egpt-dsec verify``: re-check every finished output against the manifest (and DSEC).

The manifest says which files were complete when written; verify checks they still
are (disk faults, copies cut short, hand edits, files dropped in from elsewhere)
without trusting them: event files are loaded with the restricted unpickler, images
and videos are fully decoded. It walks one clip at a time, so memory holds at most
one clip's events per worker. ``fix_output`` forgets the affected clips and deletes
their bad files, so the next build with the same options redoes only those clips.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import stat
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from egpt_dsec.durations import Duration
from egpt_dsec.events import EVENT_DTYPES, EVENT_FIELDS, SENSOR_HEIGHT, SENSOR_WIDTH
from egpt_dsec.execute.lock import output_lock
from egpt_dsec.layout import (
    DATASET_JSON,
    STATE_DIR,
    VIDEOLLAVA_JSON,
    OutputLayout,
    clip_name,
)
from egpt_dsec.manifest import MANIFEST_DIR, ClipRecord, Manifest
from egpt_dsec.options_record import load_options
from egpt_dsec.plan.clips import Clip, nearest_frame, plan_windows
from egpt_dsec.safe_npy import NpyFormatError, UnsafeNpyError, load_event_npy
from egpt_dsec.source.discover import discover_sequences
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.source.timestamps import list_frames, read_timestamps
from egpt_dsec.writers.annotations import ClipEntry, annotation_files
from egpt_dsec.writers.atomic import is_temp_name, remove_path
from egpt_dsec.writers.mp4 import video_size
from egpt_dsec.writers.safe_paths import ensure_inside

FILE_COMPONENTS = ("event_npy", "event_image", "video", "mp4")
# Rows of the summary table: "manifest" counts clip records, "empty" the 0-event clips
# (which must have no files), "temp" the folders scanned for leftover temp files.
REPORT_COMPONENTS = ("manifest", *FILE_COMPONENTS, "empty", "json", "temp")

# Keys of our event files, in the order EventGPT's scripts wrote them.
NPY_KEYS = (
    *EVENT_FIELDS,
    "time_start",
    "time_end",
    "duration_ms",
    "image_timestamp",
    "image_idx",
    "image_indices_in_clip",
    "num_events",
)
EVENT_IMAGE_SIZE = (SENSOR_WIDTH, SENSOR_HEIGHT)
CHECK_CHUNK = 4_000_000  # events compared per step: bounds the extra memory per clip
_COPY_BLOCK = 1 << 20
_NUMBERED_PNG = re.compile(r"^(\d+)\.png$")
_PART_PNG = re.compile(r"^(\d+)_(\d+)\.png$")

ClipId = tuple[str, str, str, int]  # (split, sequence, duration label, clip index)


@dataclass(frozen=True)
class Problem:
    """One bad file (or record): where it is, which clip it belongs to, what is wrong.

    ``clip`` is -1 (and split/sequence/duration may be "") when no clip owns the path.
    """

    path: Path
    component: str
    split: str
    sequence: str
    duration: str
    clip: int
    what: str

    @property
    def clip_id(self) -> ClipId | None:
        if self.clip < 0 or not self.sequence:
            return None
        return (self.split, self.sequence, self.duration, self.clip)


@dataclass
class VerifyReport:
    checked: dict[str, int]  # component -> files (or clips, folders) checked
    problems: list[Problem]
    clips: int = 0
    running: list[str] = field(default_factory=list)  # builds seen running during verify

    def ok(self) -> bool:
        return not self.problems

    def bad(self, component: str) -> int:
        """Distinct bad paths of a component."""
        return len({p.path for p in self.problems if p.component == component})


# ---------------------------------------------------------------------------
# What verify knows besides the manifest: the recorded options and, optionally, DSEC.


@dataclass(frozen=True)
class _Options:
    """The recorded build options verify needs (defaults when none were recorded)."""

    overlap: float = 0.5
    camera: str = "left"
    event_format: str = "npy"
    image_mode: str | None = None  # "RGB", "RGBA" (gray style), None = either
    video_size: tuple[int, int] | None = None  # requested size, before rounding to even
    questions: tuple[str, ...] | None = None

    @staticmethod
    def load(state_dir: Path) -> _Options:
        recorded = load_options(state_dir) or {}
        windows = next(iter(recorded.values()), {})
        style = recorded.get("event_image", {}).get("style")
        size = recorded.get("mp4", {}).get("size")
        questions = recorded.get("json", {}).get("questions")
        return _Options(
            overlap=float(windows.get("overlap", 0.5)),
            camera=str(windows.get("camera", "left")),
            event_format=str(recorded.get("event_npy", {}).get("event_format", "npy")),
            image_mode=None if style is None else "RGBA" if style == "gray" else "RGB",
            video_size=(int(size[0]), int(size[1])) if size else None,
            questions=tuple(questions) if questions else None,
        )


class _EventFiles:
    """Open events files of one sequence, reused by its clips (opening one takes ~30 ms).

    One per thread at a time: EventFile remembers where its last read ended.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._free: list[EventFile] = []
        self._opened: list[EventFile] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def use(self) -> Iterator[EventFile]:
        with self._lock:
            events = self._free.pop() if self._free else None
        if events is None:
            events = EventFile(self.path)
            with self._lock:
                self._opened.append(events)
        try:
            yield events
        finally:
            with self._lock:
                self._free.append(events)

    def close(self) -> None:
        with self._lock:
            for events in self._opened:
                events.close()
            self._free, self._opened = [], []


@dataclass(frozen=True)
class _Source:
    """One DSEC sequence, for comparing outputs with their input (``--dsec-root``)."""

    events: _EventFiles
    timestamps: NDArray[np.int64]
    frame_paths: list[Path]
    video_size: tuple[int, int]
    plans: dict[str, list[Clip]]  # duration label -> planned windows


def _load_sources(
    dsec_root: Path, wanted: Iterable[tuple[str, str]], labels: set[str], options: _Options
) -> dict[tuple[str, str], _Source]:
    """Every sequence the manifest names, read once; a missing one is an input error."""
    keys = sorted(set(wanted))
    sources: dict[tuple[str, str], _Source] = {}
    for split, sequence in keys:
        found = discover_sequences(dsec_root, (split,), (sequence,), options.camera)[0]
        timestamps = read_timestamps(found.timestamps_path)
        frames = list_frames(found.frames_dir, len(timestamps))
        with Image.open(frames[0]) as first:
            size = video_size(first.width, first.height, options.video_size)
        EventFile(found.events_path).close()  # raises InputError now, not in a worker
        plans = {
            label: plan_windows(timestamps, Duration.parse(label), options.overlap)
            for label in labels
        }
        events = _EventFiles(found.events_path)
        sources[(split, sequence)] = _Source(events, timestamps, frames, size, plans)
    return sources


# ---------------------------------------------------------------------------
# One clip.


@dataclass(frozen=True)
class _ClipTask:
    """Everything needed to check one clip; handed to a worker thread."""

    split: str
    sequence: str
    record: ClipRecord
    layout: OutputLayout
    options: _Options
    listing: dict[str, frozenset[str]]  # component -> names in its sequence folder
    source: _Source | None

    @property
    def duration(self) -> Duration:
        return Duration.parse(self.record.duration)

    def problem(self, component: str, path: Path, what: str) -> Problem:
        r = self.record
        return Problem(path, component, self.split, self.sequence, r.duration, r.clip, what)


@dataclass
class _ClipResult:
    problems: list[Problem] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    mp4: tuple[Path, tuple[int, int], ClipId] | None = None  # for the size consistency check


def _check_clip(task: _ClipTask) -> _ClipResult:
    if task.source is None:
        return _check_clip_with(task, None)
    with task.source.events.use() as events:
        return _check_clip_with(task, events)


def _check_clip_with(task: _ClipTask, events: EventFile | None) -> _ClipResult:
    result = _ClipResult()
    record = task.record
    result.checked["manifest"] += 1
    what = _record_problem(task, events)
    if what:
        result.problems.append(task.problem("manifest", _manifest_path(task), what))
        return result  # the files cannot be judged against a wrong record
    if record.empty:
        result.checked["empty"] += 1
        result.problems += _empty_clip_problems(task)
        return result
    if "event_npy" in record.components and task.options.event_format == "npy":
        result.checked["event_npy"] += 1
        path = task.layout.event_npy(task.split, task.duration, task.sequence, record.clip)
        what = _npy_problem(path, task, events)
        if what:
            result.problems.append(task.problem("event_npy", path, what))
    if "event_image" in record.components:
        result.problems += _image_problems(task, result.checked)
    if "video" in record.components:
        result.checked["video"] += 1
        result.problems += _video_problems(task)
    if "mp4" in record.components:
        result.checked["mp4"] += 1
        path = task.layout.mp4(task.split, task.duration, task.sequence, record.clip)
        what, size = _mp4_problem(path, record.frame_stop - record.frame_start)
        if what:
            result.problems.append(task.problem("mp4", path, what))
        elif size is not None:
            result.mp4 = (path, size, (task.split, task.sequence, record.duration, record.clip))
    return result


def _manifest_path(task: _ClipTask) -> Path:
    """Where a record problem is shown (a sharded sequence keeps it in ``<seq>@NNN.jsonl``)."""
    return task.layout.state_dir / MANIFEST_DIR / task.split / f"{task.sequence}.jsonl"


def _record_problem(task: _ClipTask, events: EventFile | None) -> str | None:
    """A record that contradicts itself, or (with DSEC) the plan and the events file."""
    r = task.record
    try:
        duration = Duration.parse(r.duration)
    except ValueError as exc:
        return f"record has a bad duration: {exc}"
    unknown = set(r.components) - set(FILE_COMPONENTS)
    if unknown:
        return f"record names unknown components {sorted(unknown)}"
    if r.t1 - r.t0 != duration.us or r.num_events < 0 or r.parts < 1:
        return f"record is inconsistent (t0 {r.t0}, t1 {r.t1}, events {r.num_events})"
    if r.frame_stop < r.frame_start:
        return f"record frames [{r.frame_start}, {r.frame_stop}) are reversed"
    if task.source is None or events is None:
        return None
    plan = task.source.plans[r.duration]
    if r.clip >= len(plan):
        return f"clip {r.clip} is not in the plan of the source ({len(plan)} windows)"
    clip = plan[r.clip]
    got = (r.t0, r.t1, r.frame_start, r.frame_stop)
    want = (clip.t0, clip.t1, clip.frame_start, clip.frame_stop)
    if got != want:
        return f"record window/frames {got} differ from the source plan {want}"
    if r.image_idx >= 0 and r.image_idx != nearest_frame(task.source.timestamps, r.t1):
        return f"record image_idx {r.image_idx} is not the frame nearest time_end"
    start, stop = events.index_at(np.array([r.t0, r.t1], dtype=np.int64)).tolist()
    if (start, stop - start) != (r.event_start, r.num_events):
        return (
            f"record events [{r.event_start}, +{r.num_events}) differ from the source "
            f"window [{start}, +{stop - start})"
        )
    return None


def _empty_clip_problems(task: _ClipTask) -> list[Problem]:
    """A window without events writes no files: anything found is stale."""
    r, layout, d = task.record, task.layout, task.duration
    name = clip_name(r.clip)
    found = []
    npy = layout.event_npy(task.split, d, task.sequence, r.clip)
    if npy.name in task.listing["event_npy"]:
        found.append(npy)
    image_dir = layout.component_dir(task.split, d, "event_image") / task.sequence
    for entry in sorted(task.listing["event_image"]):
        match = _PART_PNG.match(entry)
        if match and match.group(1) == name:
            found.append(image_dir / entry)
    video = layout.video_dir(task.split, d, task.sequence, r.clip)
    if video.name in task.listing["video"]:
        found.append(video)
    mp4 = layout.mp4(task.split, d, task.sequence, r.clip)
    if mp4.name in task.listing["mp4"]:
        found.append(mp4)
    return [
        task.problem("empty", path, "clip has no events but this file exists") for path in found
    ]


# --- event_npy --------------------------------------------------------------------------


def _npy_problem(path: Path, task: _ClipTask, events: EventFile | None) -> str | None:
    """The first thing wrong with a clip's event file, or None."""
    if path.name not in task.listing["event_npy"]:
        return "missing"
    try:
        data = load_event_npy(path)
    except UnsafeNpyError as exc:
        return f"unsafe pickle, refused global {exc.global_name} (nothing was run)"
    except NpyFormatError as exc:
        return exc.problem
    except OSError as exc:
        return f"cannot be read ({exc})"
    if tuple(data) != NPY_KEYS:
        return f"keys {list(data)} are not {list(NPY_KEYS)}"
    r = task.record
    for name in EVENT_FIELDS:
        arr = data[name]
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype != EVENT_DTYPES[name]:
            what = f"{getattr(arr, 'dtype', type(arr).__name__)} {getattr(arr, 'shape', '')}"
            return f"{name} is {what.strip()}, expected 1-d {EVENT_DTYPES[name]}"
        if len(arr) != r.num_events:
            return f"{name} holds {len(arr)} events, the manifest says {r.num_events}"
    expected = {
        "time_start": r.t0,
        "time_end": r.t1,
        "duration_ms": task.duration.ms,
        "image_timestamp": r.t1,
        "num_events": r.num_events,
    }
    if r.image_idx >= 0:
        expected["image_idx"] = r.image_idx
    for key, want in expected.items():
        if not _is_int(data[key], want):
            return f"{key} is {data[key]!r}, expected {want}"
    indices = data["image_indices_in_clip"]
    if not isinstance(indices, list) or indices != list(range(r.frame_start, r.frame_stop)):
        return f"image_indices_in_clip is not frames {r.frame_start}..{r.frame_stop - 1}"
    return _events_problem(data, r, events)


def _is_int(value: Any, want: int) -> bool:
    return isinstance(value, int | np.integer) and int(value) == want


def _events_problem(
    data: dict[str, Any], record: ClipRecord, events: EventFile | None
) -> str | None:
    """Sorted, inside [t0, t1), on the sensor, and (with DSEC) equal to the source window."""
    p, t, x, y = (data[name] for name in EVENT_FIELDS)
    n = record.num_events
    if n and (int(t[0]) < record.t0 or int(t[-1]) >= record.t1):
        return f"t spans [{int(t[0])}, {int(t[-1])}], outside [{record.t0}, {record.t1})"
    for a in range(0, n, CHECK_CHUNK):
        b = min(a + CHECK_CHUNK, n)
        steps = np.diff(t[max(a - 1, 0) : b])
        if len(steps) and int(steps.min()) < 0:
            return f"t is not sorted (near event {max(a - 1, 0) + int(np.argmax(steps < 0)) + 1})"
        if int(x[a:b].max()) >= SENSOR_WIDTH or int(y[a:b].max()) >= SENSOR_HEIGHT:
            return f"events fall outside the {SENSOR_WIDTH}x{SENSOR_HEIGHT} sensor"
        if int(p[a:b].max()) > 1:
            return "p holds values other than 0 and 1"
        if events is not None:
            try:
                source = events.read(record.event_start + a, record.event_start + b)
            except InputError as exc:
                return f"source events cannot be read to compare ({exc.problem})"
            for name, arr in zip(EVENT_FIELDS, (p, t, x, y), strict=True):
                want = getattr(source, name)
                if not np.array_equal(arr[a:b], want):
                    first = a + int(np.argmax(arr[a:b] != want))
                    return f"{name} differs from the source events (first at event {first})"
    return None


# --- event_image ------------------------------------------------------------------------


def _image_problems(task: _ClipTask, checked: Counter[str]) -> list[Problem]:
    r, layout, d = task.record, task.layout, task.duration
    name = clip_name(r.clip)
    problems = []
    for part in range(r.parts):
        checked["event_image"] += 1
        path = layout.event_image(task.split, d, task.sequence, r.clip, part)
        what = (
            _png_problem(path, task.options.image_mode)
            if path.name in task.listing["event_image"]
            else "missing"
        )
        if what:
            problems.append(task.problem("event_image", path, what))
    folder = layout.component_dir(task.split, d, "event_image") / task.sequence
    for entry in sorted(task.listing["event_image"]):
        match = _PART_PNG.match(entry)
        if match and match.group(1) == name and int(match.group(2)) >= r.parts:
            problems.append(
                task.problem("event_image", folder / entry, f"extra part (clip has {r.parts})")
            )
    return problems


def _png_problem(path: Path, mode: str | None) -> str | None:
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
    if got not in (("RGB", "RGBA") if mode is None else (mode,)):
        return f"mode {got}, expected {mode or 'RGB or RGBA'}"
    return None


# --- video (frame folder) ---------------------------------------------------------------


def _video_problems(task: _ClipTask) -> list[Problem]:
    r = task.record
    folder = task.layout.video_dir(task.split, task.duration, task.sequence, r.clip)
    if folder.name not in task.listing["video"] or folder.is_symlink() or not folder.is_dir():
        return [task.problem("video", folder, "frame folder missing")]
    try:
        present = {entry.name for entry in os.scandir(folder)}
    except OSError as exc:
        return [task.problem("video", folder, f"cannot be listed ({exc})")]
    count = r.frame_stop - r.frame_start
    if task.source is not None:
        sources = task.source.frame_paths[r.frame_start : r.frame_stop]
        expected: dict[str, Path | None] = {p.name: p for p in sources}
    elif all(_NUMBERED_PNG.match(n) for n in present):
        # Without DSEC, frame i is DSEC's ``{i:06d}.png``; any zero padding is accepted.
        numbered = {int(n[: -len(".png")]): n for n in present}
        expected = {
            numbered.get(i, f"{i:06d}.png"): None for i in range(r.frame_start, r.frame_stop)
        }
    else:
        if len(present) != count:
            return [task.problem("video", folder, f"{len(present)} frames, expected {count}")]
        expected = dict.fromkeys(present)
    problems = []
    for extra in sorted(present - set(expected)):
        component = "temp" if is_temp_name(extra) else "video"
        problems.append(task.problem(component, folder / extra, "not a frame of this clip"))
    for frame_name, source in expected.items():
        path = folder / frame_name
        if frame_name not in present:
            what: str | None = "frame missing"
        else:
            what = _frame_problem(path, source)
        if what:
            problems.append(task.problem("video", path, what))
    return problems


def _frame_problem(path: Path, source: Path | None) -> str | None:
    """A frame resolves to a non-empty file, and (with DSEC) is or equals the source frame."""
    try:
        info = path.stat()  # follows a symlink: a dangling one fails here
    except OSError as exc:
        return f"does not resolve ({exc.strerror})"
    if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
        return "not a non-empty file"
    if source is None:
        return None
    try:
        if os.path.samefile(path, source) or _same_bytes(path, source):
            return None
    except OSError as exc:
        return f"cannot be compared with {source} ({exc})"
    return f"differs from the source frame {source}"


def _same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            block = fa.read(_COPY_BLOCK)
            if block != fb.read(_COPY_BLOCK):
                return False
            if not block:
                return True


# --- mp4 --------------------------------------------------------------------------------


def _mp4_problem(path: Path, frames: int) -> tuple[str | None, tuple[int, int] | None]:
    """Decode every frame: the count Video-LLaVA samples by must be exact and stored."""
    if not path.is_file():
        return "missing", None
    decoded = 0
    size: tuple[int, int] | None = None
    try:
        with av.open(str(path), "r") as container:
            if not container.streams.video:
                return "no video stream", None
            stream = container.streams.video[0]
            codec, stored = stream.codec_context.name, stream.frames
            for frame in container.decode(stream):
                if size is None:
                    size = (frame.width, frame.height)
                    pix_fmt = frame.format.name
                decoded += 1
    except Exception as exc:  # PyAV raises FFmpeg errors of many kinds for broken files
        return f"cannot be decoded ({type(exc).__name__}: {exc})", None
    if decoded != frames:
        return f"decodes to {decoded} frames, expected {frames}", size
    if stored != frames:
        return f"container stores {stored} frames, expected {frames}", size
    if codec != "h264":
        return f"codec {codec}, expected h264", size
    if size is None or size[0] % 2 or size[1] % 2:
        return f"size {size} is not even", size
    if pix_fmt != "yuv420p":
        return f"pixel format {pix_fmt}, expected yuv420p", size
    return None, size


def _mp4_size_problems(
    sizes: dict[tuple[str, str], list[tuple[Path, tuple[int, int], ClipId]]],
    sources: dict[tuple[str, str], _Source],
    options: _Options,
) -> list[Problem]:
    """All MP4s of a sequence share one size: the source's (made even) or the most common."""
    problems = []
    for key, found in sorted(sizes.items()):
        if key in sources:
            want = sources[key].video_size
        elif options.video_size is not None:
            want = video_size(*options.video_size, None)
        else:
            want = Counter(size for _, size, _ in found).most_common(1)[0][0]
        for path, size, (split, sequence, duration, clip) in found:
            if size != want:
                what = f"size {size[0]}x{size[1]}, expected {want[0]}x{want[1]}"
                problems.append(Problem(path, "mp4", split, sequence, duration, clip, what))
    return problems


# ---------------------------------------------------------------------------
# JSON files.


def _json_problems(
    layout: OutputLayout,
    manifest: Manifest,
    records: dict[tuple[str, str], dict[tuple[str, int], ClipRecord]],
    options: _Options,
    dsec_root: Path | None,
    checked: Counter[str],
) -> list[Problem]:
    """Each JSON the build wrote lists exactly the non-empty clips, and its paths exist."""
    entries: dict[tuple[str, str], list[ClipEntry]] = defaultdict(list)
    for (split, sequence), clips in records.items():
        for record in clips.values():
            if not record.empty:
                entries[(split, record.duration)].append(ClipEntry(split, sequence, record))
    problems: list[Problem] = []
    for split, label in sorted(manifest.annotated()):
        try:
            duration = Duration.parse(label)
        except ValueError:
            continue
        expected = sorted(
            entries.get((split, label), []), key=lambda e: (e.sequence, e.record.clip)
        )
        # The exact bytes follow from the manifest and the questions; in ref format they
        # also hold the DSEC root as the build spelled it, so only the entries are checked.
        want: tuple[bytes | None, bytes | None] = (None, None)
        if options.questions is not None and options.event_format == "npy":
            want = annotation_files(expected, options.questions)
        with_mp4 = [e for e in expected if "mp4" in e.record.components]
        files = (
            (layout.dataset_json(split, duration), expected, want[0]),
            (layout.videollava_json(split, duration), with_mp4, want[1]),
        )
        for path, listed, want_bytes in files:
            checked["json"] += bool(listed) or path.exists()
            found = _json_file_problems(path, listed, want_bytes, options, dsec_root)
            problems += [
                Problem(at, "json", split, sequence, label, clip, what)
                for at, sequence, clip, what in found
            ]
    return problems


_Found = tuple[Path, str, int, str]  # path, sequence, clip, what


def _json_file_problems(
    path: Path,
    expected: list[ClipEntry],
    want: bytes | None,
    options: _Options,
    dsec_root: Path | None,
) -> list[_Found]:
    videollava = path.name == VIDEOLLAVA_JSON
    if not path.is_file():
        return [] if videollava and not expected else [(path, "", -1, "missing")]
    if videollava and not expected:
        return [(path, "", -1, "stale: no clip of this duration has an MP4")]
    try:
        data = path.read_bytes()
        items = json.loads(data)
    except (OSError, ValueError) as exc:
        return [(path, "", -1, f"cannot be read or parsed ({exc})")]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return [(path, "", -1, "is not a list of entries")]
    by_id = {e.id: e for e in expected}
    got = [str(item.get("id")) for item in items]
    missing, extra = sorted(set(by_id) - set(got)), sorted(set(got) - set(by_id))
    if missing or extra or len(got) != len(set(got)):
        parts = [f"{len(missing)} clip(s) missing (e.g. {missing[0]})"] if missing else []
        parts += [f"{len(extra)} entry(ies) not in the manifest (e.g. {extra[0]})"] if extra else []
        parts += ["repeated ids"] if len(got) != len(set(got)) else []
        return [(path, "", -1, "; ".join(parts))]
    found: list[_Found] = []
    keys = {"video": "mp4"} if videollava else dict(_DATASET_PATH_KEYS)
    for item in items:
        entry = by_id[str(item["id"])]
        for key, component in keys.items():
            value = item.get(key)
            for rel in value if isinstance(value, list) else [] if value is None else [value]:
                target = _entry_path(path.parent / component, rel)
                if target is None or not (
                    target.is_dir() if component == "video" else target.is_file()
                ):
                    what = f"{path.name} entry {entry.id}: {key} {rel!r} missing"
                    found.append((target or path, entry.sequence, entry.record.clip, what))
        if not videollava and options.event_format == "ref":
            bad = _event_source_problem(item.get("event_source"), entry.record, dsec_root)
            if bad:
                found.append((path, "", -1, f"entry {entry.id}: {bad}"))
    if not found and want is not None and data != want:
        found.append((path, "", -1, "differs from what the manifest gives (stale or edited)"))
    return found


def _event_source_problem(source: object, record: ClipRecord, dsec_root: Path | None) -> str | None:
    """A ref-format entry points at the record's index range of an existing events file."""
    if not isinstance(source, dict):
        return "event_source missing"
    span = (source.get("start"), source.get("stop"))
    if span != (record.event_start, record.event_start + record.num_events):
        return f"event_source range {span} differs from the manifest"
    rel = source.get("relative_to_dsec_root")
    target = _entry_path(dsec_root, rel) if dsec_root is not None else None
    if dsec_root is not None and (target is None or not target.is_file()):
        return f"event_source {rel!r} is not a file under {dsec_root}"
    return None


_DATASET_PATH_KEYS = (
    ("event_data", "event_npy"),
    ("event_image", "event_image"),
    ("video_data", "video"),
    ("mp4_data", "mp4"),
)


def _entry_path(folder: Path, rel: object) -> Path | None:
    """A JSON path resolved under its component folder; None if it could escape it."""
    if not isinstance(rel, str) or not rel or os.path.isabs(rel) or ".." in Path(rel).parts:
        return None
    return folder / rel


# ---------------------------------------------------------------------------
# Leftover temp files.


def _temp_problems(out: Path, checked: Counter[str]) -> list[Problem]:
    """Temp names (writers.atomic) anywhere in the output, without entering clip frame folders."""
    problems = []
    for folder, dirs, files in os.walk(out):
        checked["temp"] += 1
        here = Path(folder)
        rel = here.relative_to(out).parts
        for name in sorted(dirs + files):
            if is_temp_name(name):
                problems.append(_temp_problem(out, here / name))
        dirs[:] = sorted(
            d for d in dirs if not is_temp_name(d) and not (len(rel) == 4 and rel[2] == "video")
        )
    return problems


def _temp_problem(out: Path, path: Path) -> Problem:
    parts = path.relative_to(out).parts
    split = duration = sequence = ""
    if parts[0] != STATE_DIR:
        split = parts[0] if len(parts) > 1 else ""
        duration = parts[1] if len(parts) > 2 else ""
        sequence = parts[3] if len(parts) > 4 else ""
    return Problem(path, "temp", split, sequence, duration, -1, "leftover temp file")


# ---------------------------------------------------------------------------
# The whole output.


def verify_output(
    out: Path,
    dsec_root: Path | None = None,
    reporter: Callable[[int], None] | None = None,
    workers: int = 1,
) -> VerifyReport:
    """Check every output the manifest says is done; problems are collected, never raised.

    ``reporter(n)`` is called from the calling thread after each clip, with the number of
    clips just checked (so a tqdm bar's ``update`` fits; ``count_clips`` gives the total).
    With ``dsec_root`` events and frames are compared with the source; a sequence missing
    there raises InputError (a wrong root would otherwise flag every clip). A folder that
    holds no build raises ValueError rather than passing with nothing checked.
    """
    layout = OutputLayout(out)
    if not layout.state_dir.is_dir():
        raise ValueError(f"{out} holds no egpt-dsec build (no {STATE_DIR} folder)")
    manifest = Manifest(layout.state_dir)
    options = _Options.load(layout.state_dir)
    records = manifest.all_records()
    running = manifest.running()
    sources: dict[tuple[str, str], _Source] = {}
    if dsec_root is not None:
        labels = {r.duration for clips in records.values() for r in clips.values()}
        sources = _load_sources(dsec_root, [k for k, v in records.items() if v], labels, options)
    checked: Counter[str] = Counter()
    problems = _temp_problems(out, checked)
    sizes: dict[tuple[str, str], list[tuple[Path, tuple[int, int], ClipId]]] = defaultdict(list)
    clips = 0

    def collect(result: _ClipResult) -> None:
        nonlocal clips
        clips += 1
        checked.update(result.checked)
        problems.extend(result.problems)
        if result.mp4 is not None:
            sizes[result.mp4[2][:2]].append(result.mp4)
        if reporter is not None:
            reporter(1)

    with ThreadPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as pool:
        for (split, sequence), sequence_records in sorted(records.items()):
            source = sources.get((split, sequence))
            try:
                tasks = _tasks(layout, split, sequence, sequence_records, options, source)
                _run(tasks, collect, pool, workers)
            finally:
                if source is not None:
                    source.events.close()
    problems += _mp4_size_problems(sizes, sources, options)
    problems += _json_problems(layout, manifest, records, options, dsec_root, checked)
    problems = _drop_repeats(problems)
    checked_all = {c: checked.get(c, 0) for c in REPORT_COMPONENTS}
    return VerifyReport(checked_all, problems, clips, running)


def count_clips(out: Path) -> int:
    """How many clip records ``verify_output`` will check (for a progress bar's total)."""
    records = Manifest(OutputLayout(out).state_dir).all_records()
    return sum(len(clips) for clips in records.values())


def _tasks(
    layout: OutputLayout,
    split: str,
    sequence: str,
    clips: dict[tuple[str, int], ClipRecord],
    options: _Options,
    source: _Source | None,
) -> Iterator[_ClipTask]:
    """A sequence's clip tasks in output order; each folder is listed once, when reached."""
    listings: dict[str, dict[str, frozenset[str]]] = {}
    for record in sorted(clips.values(), key=lambda r: (_duration_us(r.duration), r.clip)):
        if record.duration not in listings:
            listings[record.duration] = _listing(layout, split, record.duration, sequence)
        yield _ClipTask(split, sequence, record, layout, options, listings[record.duration], source)


def _duration_us(label: str) -> int:
    try:
        return Duration.parse(label).us
    except ValueError:
        return -1


def _listing(
    layout: OutputLayout, split: str, label: str, sequence: str
) -> dict[str, frozenset[str]]:
    """Names in each component's sequence folder: one listing instead of a stat per file."""
    listing = {}
    for component in FILE_COMPONENTS:
        folder = layout.root / split / label / component / sequence
        try:
            listing[component] = frozenset(entry.name for entry in os.scandir(folder))
        except OSError:
            listing[component] = frozenset()
    return listing


def _run(
    tasks: Iterable[_ClipTask],
    collect: Callable[[_ClipResult], None],
    pool: ThreadPoolExecutor | None,
    workers: int,
) -> None:
    """Check clips on the pool, a few in flight (each may hold a clip's events); wait for all."""
    if pool is None:
        for task in tasks:
            collect(_check_clip(task))
        return
    pending: set[Future[_ClipResult]] = set()
    try:
        for task in tasks:
            pending.add(pool.submit(_check_clip, task))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    collect(future.result())
    finally:
        done, _ = wait(pending)  # no clip may still read a file the caller closes next
    for future in done:
        collect(future.result())


def _drop_repeats(problems: list[Problem]) -> list[Problem]:
    """A JSON entry pointing at a file already reported adds nothing; keep the file's report."""
    reported = {p.path for p in problems if p.component != "json"}
    kept = [p for p in problems if p.component != "json" or p.path not in reported]
    return sorted(
        set(kept),
        key=lambda p: (
            p.split,
            _duration_us(p.duration),
            p.sequence,
            p.clip,
            REPORT_COMPONENTS.index(p.component),
            str(p.path),
        ),
    )


# ---------------------------------------------------------------------------
# Output for people, repair, arguments.


def format_verify(report: VerifyReport, max_listed: int = 200) -> str:
    """A table (component, checked, bad) and the bad files, at most ``max_listed`` of them."""
    rows = [("component", "checked", "bad")]
    rows += [(c, str(n), str(report.bad(c))) for c, n in report.checked.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    if report.running:
        lines.append(
            "warning: a build is running (" + ", ".join(report.running) + "); "
            "its temp files show up as problems"
        )
    if report.ok():
        lines.append(f"OK: {report.clips} clips checked, no problems")
        return "\n".join(lines)
    bad_files = len({p.path for p in report.problems})
    lines.append(f"{len(report.problems)} problem(s) in {bad_files} file(s):")
    for p in report.problems[:max_listed]:
        lines.append(f"  [{p.component}] {p.path}: {p.what}")
    if len(report.problems) > max_listed:
        lines.append(f"  ... and {len(report.problems) - max_listed} more")
    return "\n".join(lines)


def fix_output(out: Path, report: VerifyReport) -> set[ClipId]:
    """Forget the clips with problems, then delete their bad files and any temp files.

    Returns the forgotten clips; a build with the recorded options then redoes exactly
    those (and rewrites the JSON). Holds the output lock, and refuses while a build is
    marked running: its temp files are live. Never deletes through a link leaving OUT.
    """
    layout = OutputLayout(out)
    manifest = Manifest(layout.state_dir)
    with output_lock(layout.state_dir):
        running = manifest.running()
        if running:
            raise RuntimeError(f"a build is running on {out} ({', '.join(running)}); fix later")
        forget: dict[tuple[str, str], set[tuple[str, int]]] = defaultdict(set)
        for p in report.problems:
            if p.clip_id is not None and p.component != "temp":
                split, sequence, duration, clip = p.clip_id
                forget[(split, sequence)].add((duration, clip))
        for (split, sequence), keys in sorted(forget.items()):
            manifest.forget(split, sequence, keys)
        for p in report.problems:
            if _deletable(p):
                ensure_inside(out, p.path.parent)  # the path itself may be a link: unlinked
                remove_path(p.path)
    return {(s, q, d, c) for (s, q), keys in forget.items() for d, c in keys}


def _deletable(problem: Problem) -> bool:
    """Bad output files and temp files go; records, and files a JSON merely names, stay."""
    if problem.component in (*FILE_COMPONENTS, "empty", "temp"):
        return True
    return problem.component == "json" and problem.path.name in (DATASET_JSON, VIDEOLLAVA_JSON)


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="the output folder to check")
    parser.add_argument(
        "--dsec-root",
        type=Path,
        default=None,
        help="also compare events and frames with this DSEC root (slower, stronger)",
    )
    parser.add_argument(
        "--fix",
        action="store_true",
        help="forget clips with problems and delete their bad files, then rebuild them",
    )
    parser.add_argument("--workers", type=int, default=1, help="clips checked in parallel (1)")
