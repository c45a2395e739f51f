"""SIGKILL a real CLI build at many points; the resumed build must equal a clean one, byte for byte.

SIGKILL runs no handler and no ``finally``: it stands for a power cut, the OOM killer or a
cluster pre-emption. What survives must be only complete files under final names plus temp
files that the next run removes, and the manifest must never claim an unfinished clip.

Kill points: three times spread over the clean build's working span (after its first job
started), and four moments inside particular writes: the sequence MP4 encode and a clip MP4
being cut (remux mode, the default), a clip MP4 being encoded (encode mode), a JSON file
being written. The output tree is polled every 2 ms. The short writes
(a temp file that lives for tens of microseconds) are too quick for polling: once they are
near, the folders are watched with inotify, the build is frozen (SIGSTOP) the moment a temp
file is created, and killed while frozen only if the temp file is still there, so the kill
provably lands inside the write. A write missed in every try is skipped with the reason,
never passed silently.
"""

from __future__ import annotations

import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from egpt_dsec.durations import parse_durations
from egpt_dsec.fs import TEMP_MARK, is_temp_name
from egpt_dsec.kinds import EVENT_IMAGE, EVENT_NPY, MP4, VIDEO
from egpt_dsec.layout.output import OutputLayout
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.state.manifest import ClipRecord, Manifest
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec
from helpers import tree_hashes

SPEC = SynthSpec(sequences=2, seconds=5.0, rate=6e4, seed=4, frame_size=(160, 120))
SEQUENCES = ("synth_00", "synth_01")
DURATIONS = "500ms,1s,2s,4s"
TIMED_FRACTIONS = (0.15, 0.45, 0.75)  # of the clean build's working span
POLL = 0.002  # seconds between looks at the output tree
ATTEMPTS = 3
TIMEOUT = 90.0

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="uses /proc and inotify (Linux)"
)

Trigger = Callable[[Path], bool]


@dataclass(frozen=True)
class Reference:
    root: Path
    mp4_mode: str
    out: Path
    hashes: dict[str, str]
    working_seconds: float  # from the first job start to the end of the clean build
    manifest_bytes: int  # size of the finished manifest: "every clip is recorded"


def command(root: Path, out: Path, mp4_mode: str) -> list[str]:
    """Two event images per clip keep PNG encoding from dominating the run time."""
    return [sys.executable, "-m", "egpt_dsec", "build", "--dsec-root", str(root),
            "--out", str(out), "--durations", DURATIONS, "--workers", "1",
            "--event-images", "2", "--mp4-mode", mp4_mode]  # fmt: skip


def start(root: Path, out: Path, log: Path, mp4_mode: str) -> subprocess.Popen[bytes]:
    """Output goes to a file: a full pipe would stall the build and shift the kill points."""
    with log.open("ab") as sink:
        args = command(root, out, mp4_mode)
        return subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT)


def run_to_end(root: Path, out: Path, log: Path, mp4_mode: str) -> None:
    proc = start(root, out, log, mp4_mode)
    assert proc.wait(timeout=TIMEOUT) == 0, log.read_text()


# --- looking at the output tree ------------------------------------------------------------


def manifest_bytes(out: Path) -> int:
    folder = StateLayout(out).manifest_dir / "train"
    try:
        return sum(entry.stat().st_size for entry in os.scandir(folder))
    except FileNotFoundError:
        return 0


def working(out: Path) -> bool:
    """A job has started: planning is over and clip files are about to be written."""
    folder = StateLayout(out).running_dir
    return manifest_bytes(out) > 0 or (folder.is_dir() and any(folder.iterdir()))


def temps_in(folders: list[Path], suffix: str) -> bool:
    """A temp file whose final name ends in ``suffix`` exists in one of ``folders``."""
    for folder in folders:
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    name = entry.name
                    if is_temp_name(name) and name.split(TEMP_MARK)[0].endswith(suffix):
                        return True
        except FileNotFoundError:
            continue
    return False


def all_temps(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if is_temp_name(p.name))


def mp4_dirs(out: Path) -> list[Path]:
    layout = OutputLayout(out)
    durations = parse_durations(DURATIONS)
    return [layout.kind_dir("train", d, MP4) / s for d in durations for s in SEQUENCES]


def encoding_sequence_mp4(out: Path) -> bool:
    """The sequence encode's scratch MP4 is open (remux mode's one encode per sequence)."""
    return temps_in([StateLayout(out).scratch_file("train", "synth_00").parent], ".mp4")


def writing_clip_mp4(out: Path) -> bool:
    return temps_in(mp4_dirs(out), ".mp4")


def clip_mp4s_started(out: Path) -> bool:
    """Clip MP4s are being cut: more follow, each a temp file for a moment."""
    return any(folder.is_dir() and any(folder.iterdir()) for folder in mp4_dirs(out))


def writing_json(out: Path) -> bool:
    layout = OutputLayout(out)
    return temps_in([layout.duration_dir("train", d) for d in parse_durations(DURATIONS)], ".json")


# --- killing -------------------------------------------------------------------------------


def process_state(pid: int) -> str:
    """The one-letter state in /proc/<pid>/stat (R, S, D, T stopped, Z exited, ...)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return "X"


def frozen(pid: int) -> bool:
    """Stop ``pid`` and wait until it is stopped; False if it has exited instead."""
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = process_state(pid)
        if state in "Tt":
            return True
        if state in "ZX":
            return False
        os.sched_yield()
    pytest.fail(f"process {pid} did not stop after SIGSTOP")


class Watcher:
    """inotify on a few folders: readable as soon as a file is created in one of them."""

    IN_CREATE = 0x100

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            pytest.skip(f"inotify unavailable: {os.strerror(ctypes.get_errno())}")

    def add(self, folders: list[Path]) -> None:
        """Watch those of ``folders`` that exist (again is a no-op): call as they appear."""
        for folder in folders:
            if folder.is_dir():
                self._libc.inotify_add_watch(self.fd, os.fsencode(folder), self.IN_CREATE)

    def temp_created(self, timeout: float) -> bool:
        readable, _, _ = select.select([self.fd], [], [], timeout)
        return bool(readable) and TEMP_MARK.encode() in os.read(self.fd, 1 << 16)

    def close(self) -> None:
        os.close(self.fd)


@dataclass(frozen=True)
class KillPoint:
    """When to kill, and, for a short write, where to watch and what proves it was hit."""

    fired: Trigger
    left_behind: Trigger | None = None  # checked after death: the write's temp file
    near: Trigger | None = None  # once this holds, stop polling and ...
    watch: Callable[[Path], list[Path]] | None = None  # ... watch these folders instead


def kill_at(proc: subprocess.Popen[bytes], out: Path, point: KillPoint) -> bool:
    """SIGKILL ``proc`` at ``point``; True if it died of that (not of finishing) and,
    for a write, while that write's temp file existed."""
    deadline = time.monotonic() + TIMEOUT
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the build neither finished nor reached the kill point")
        if point.near is not None and point.watch is not None and point.near(out):
            _kill_on_temp(proc, out, point.fired, point.watch, deadline)
            break
        if point.fired(out):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(POLL)
    killed = proc.wait(timeout=TIMEOUT) == -signal.SIGKILL
    return killed and (point.left_behind is None or point.left_behind(out))


def _kill_on_temp(
    proc: subprocess.Popen[bytes],
    out: Path,
    fired: Trigger,
    watch: Callable[[Path], list[Path]],
    deadline: float,
) -> None:
    """On each temp file created: freeze the build, and kill it if ``fired`` while frozen."""
    watcher = Watcher()
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            watcher.add(watch(out))
            if not watcher.temp_created(POLL):
                continue
            if not frozen(proc.pid):
                return
            if fired(out):
                proc.send_signal(signal.SIGKILL)  # kills a stopped process too
                return
            proc.send_signal(signal.SIGCONT)
    finally:
        watcher.close()


def after_work_started(seconds: float) -> Trigger:
    """Fires ``seconds`` after the first job started (the start-up time does not count)."""
    started: list[float] = []

    def fired(out: Path) -> bool:
        if not started and working(out):
            started.append(time.monotonic())
        return bool(started) and time.monotonic() - started[0] >= seconds

    return fired


# --- what a kill may leave, and what the resume must give ----------------------------------


def clip_files(out: Path, sequence: str, record: ClipRecord) -> list[Path]:
    """The files and folders a manifest record vouches for."""
    if record.empty:
        return []
    layout = OutputLayout(out)
    duration = parse_durations(record.duration)[0]
    paths: list[Path] = []
    if "event_npy" in record.components:
        paths.append(layout.clip_path(EVENT_NPY, "train", duration, sequence, record.clip))
    if "event_image" in record.components:
        parts = range(record.parts)
        paths += [
            layout.clip_path(EVENT_IMAGE, "train", duration, sequence, record.clip, i)
            for i in parts
        ]
    if "video" in record.components:
        folder = layout.clip_path(VIDEO, "train", duration, sequence, record.clip)
        paths += [folder, *sorted(folder.iterdir())]
    if "mp4" in record.components:
        paths.append(layout.clip_path(MP4, "train", duration, sequence, record.clip))
    return paths


def finished_clip_stamps(out: Path) -> dict[Path, tuple[int, int]]:
    """(inode, mtime) of every file of every recorded clip: a rewrite changes one of them."""
    manifest = Manifest(StateLayout(out))
    stamps = {}
    for sequence in SEQUENCES:
        for record in manifest.sequence_records("train", sequence).values():
            for path in clip_files(out, sequence, record):
                st = path.stat()  # a recorded clip's files must all exist
                stamps[path] = (st.st_ino, st.st_mtime_ns)
    return stamps


def resume_and_compare(reference: Reference, out: Path, log: Path) -> None:
    """Resume after a kill; the result must be the clean build, and finished clips untouched."""
    before = finished_clip_stamps(out)
    print(f"killed with {len(before)} recorded clip files; temps left: {all_temps(out)}")
    run_to_end(reference.root, out, log, reference.mp4_mode)
    assert all_temps(out) == [], "temp files left after the resumed build"
    assert tree_hashes(out) == reference.hashes
    redone = [p for p, stamp in before.items() if (p.stat().st_ino, p.stat().st_mtime_ns) != stamp]
    assert redone == [], "clips finished before the kill were rewritten"


@pytest.fixture(scope="module")
def dsec_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dsec")
    write_synthetic_dsec(root, SPEC)
    return root


def clean_build(root: Path, out: Path, mp4_mode: str) -> Reference:
    """One uninterrupted CLI build, timed from its first job start."""
    log = out.parent / "log.txt"
    proc = start(root, out, log, mp4_mode)
    started = None
    while proc.poll() is None:
        if started is None and working(out):
            started = time.monotonic()
        time.sleep(POLL)
    assert proc.wait() == 0 and started is not None, log.read_text()
    assert all_temps(out) == []
    seconds = time.monotonic() - started
    return Reference(root, mp4_mode, out, tree_hashes(out), seconds, manifest_bytes(out))


@pytest.fixture(scope="module")
def reference(dsec_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The default build: remux mode (one MP4 encode per sequence, clips cut from it)."""
    return clean_build(dsec_root, tmp_path_factory.mktemp("clean") / "out", "remux")


@pytest.fixture(scope="module")
def encode_reference(dsec_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """Encode mode: one MP4 encoder per clip, its temp file open while the clip streams."""
    return clean_build(dsec_root, tmp_path_factory.mktemp("clean-encode") / "out", "encode")


# --- the tests -----------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", TIMED_FRACTIONS)
def test_kill_at_a_time_then_resume(reference: Reference, tmp_path: Path, fraction: float) -> None:
    delay = fraction * reference.working_seconds
    for attempt in range(ATTEMPTS):
        out = tmp_path / f"out{attempt}"
        proc = start(reference.root, out, tmp_path / "log.txt", reference.mp4_mode)
        if kill_at(proc, out, KillPoint(after_work_started(delay))):
            break
        delay *= 0.6  # this machine runs faster now than when the reference was built
    else:
        pytest.skip(f"the build always finished before {fraction:.0%} of its working time")
    resume_and_compare(reference, out, tmp_path / "log.txt")


def write_point(name: str, reference: Reference) -> KillPoint:
    def some_clips_recorded(out: Path) -> bool:  # so the kill is mid-encode, not at its start
        return manifest_bytes(out) > 0 and encoding_sequence_mp4(out)

    def all_clips_recorded(out: Path) -> bool:  # the JSON files come next
        return manifest_bytes(out) >= reference.manifest_bytes

    def duration_dirs(out: Path) -> list[Path]:
        layout = OutputLayout(out)
        return [layout.duration_dir("train", d) for d in parse_durations(DURATIONS)]

    return {
        "sequence MP4 encode": KillPoint(some_clips_recorded, encoding_sequence_mp4),
        "clip MP4 write": KillPoint(
            writing_clip_mp4, writing_clip_mp4, clip_mp4s_started, mp4_dirs
        ),
        "JSON write": KillPoint(writing_json, writing_json, all_clips_recorded, duration_dirs),
    }[name]


@pytest.mark.parametrize("name", ["sequence MP4 encode", "clip MP4 write", "JSON write"])
def test_kill_inside_a_write_then_resume(reference: Reference, tmp_path: Path, name: str) -> None:
    point = write_point(name, reference)
    for attempt in range(ATTEMPTS):
        out = tmp_path / f"out{attempt}"
        proc = start(reference.root, out, tmp_path / "log.txt", reference.mp4_mode)
        if kill_at(proc, out, point):
            break
    else:
        pytest.skip(f"{name}: the kill never landed inside the write in {ATTEMPTS} tries")
    resume_and_compare(reference, out, tmp_path / "log.txt")


def test_kill_inside_a_clip_mp4_encode_then_resume(
    encode_reference: Reference, tmp_path: Path
) -> None:
    def encoding_clip_mp4(out: Path) -> bool:  # mid-build, an encoder writing a clip MP4
        return manifest_bytes(out) > 0 and writing_clip_mp4(out)

    point = KillPoint(encoding_clip_mp4, writing_clip_mp4)
    for attempt in range(ATTEMPTS):
        out = tmp_path / f"out{attempt}"
        proc = start(encode_reference.root, out, tmp_path / "log.txt", "encode")
        if kill_at(proc, out, point):
            break
    else:
        pytest.skip(f"the kill never landed inside a clip MP4 encode in {ATTEMPTS} tries")
    resume_and_compare(encode_reference, out, tmp_path / "log.txt")


def test_stale_temps_of_a_finished_build_are_removed(reference: Reference, tmp_path: Path) -> None:
    """A kill can leave a temp file where the resumed build has no clip left to write:
    the scratch encode just after the last clip MP4 was cut, a plan file being replaced."""
    out = tmp_path / "out"
    shutil.copytree(reference.out, out, symlinks=True)
    state = StateLayout(out)
    scratch, plan = state.scratch_file("train", "synth_00"), state.plan_file("train", "synth_00")
    for final in (scratch, plan):
        planted = final.with_name(f".{final.name}{TEMP_MARK}99999-0")  # a killed process's
        planted.parent.mkdir(parents=True, exist_ok=True)
        planted.write_bytes(b"cut short by a kill")
    run_to_end(reference.root, out, tmp_path / "log.txt", reference.mp4_mode)
    assert all_temps(out) == []
