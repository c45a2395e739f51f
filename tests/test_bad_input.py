"""Broken DSEC inputs: one bad sequence is reported with file, problem and fix; others build.

Each case copies a pristine two-sequence root, breaks ``train/synth_01`` one way, builds,
and checks that exactly that sequence failed (or, for the benign cases, did not), that
``train/synth_00`` is complete, and that no temp file or unrecorded clip file is left.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (the events datasets are Blosc-compressed)
import numpy as np
import pytest

from egpt_dsec.cli import main
from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import parse_durations
from egpt_dsec.fs import UnsafeOutputPath, ensure_inside, is_temp_name
from egpt_dsec.kinds import BY_NAME, DEFAULT_COMPONENTS, EVENT_NPY, MP4
from egpt_dsec.kinds.event_image import EventImageOptions
from egpt_dsec.layout.dsec import SequenceFiles
from egpt_dsec.layout.output import OutputLayout
from egpt_dsec.layout.state import STATE_DIR, StateLayout
from egpt_dsec.pipeline import BuildReport, build
from egpt_dsec.plan.clips import plan_windows
from egpt_dsec.reports.verify import verify_output
from egpt_dsec.source.discover import check_safe_name, discover_sequences
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.frames import frame_size
from egpt_dsec.source.h5events import EventFile
from egpt_dsec.source.timestamps import read_timestamps
from egpt_dsec.state.manifest import Manifest
from egpt_dsec.synth import SynthSpec, write_events_h5, write_synthetic_dsec
from egpt_dsec.synth.dataset import SequenceSlot, write_sequence

SPEC = SynthSpec(sequences=2, seconds=4.0, rate=2e4, seed=11, frame_size=(64, 48))
DURATIONS = parse_durations("500ms,1s")
GOOD, BAD = "synth_00", "synth_01"
FIX_EVENTS = "re-download or re-extract"

Breaker = Callable[[Path], None]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pristine")
    write_synthetic_dsec(root, SPEC)
    return root


@pytest.fixture
def root(pristine: Path, tmp_path: Path) -> Path:
    """A private copy of the pristine root, free to break."""
    copy = tmp_path / "dsec"
    shutil.copytree(pristine, copy)
    return copy


def run_build(root: Path, out: Path, workers: int = 1) -> BuildReport:
    """One event image per clip: PNG encoding of 640x480 images dominates small builds.
    One worker by default: the build runs in this process, whose log some cases read."""
    config = BuildConfig(
        dsec_root=root,
        out=out,
        durations=DURATIONS,
        event_image=EventImageOptions(count=1),
        workers=workers,
    )
    return build(config)


CLIP_KINDS = {name for name in DEFAULT_COMPONENTS if not BY_NAME[name].per_dataset}

# --- what every case checks -----------------------------------------------------------------


def assert_fully_built(out: Path, root: Path, name: str) -> None:
    """Every planned clip of ``name`` is in the manifest with every file component, on disk."""
    layout = OutputLayout(out)
    records = Manifest(StateLayout(layout.root)).sequence_records("train", name)
    timestamps = read_timestamps(SequenceFiles(root / "train" / name).timestamps)
    planned = {(d.label, w.index) for d in DURATIONS for w in plan_windows(timestamps, d, 0.5)}
    assert planned and set(records) == planned
    by_label = {d.label: d for d in DURATIONS}
    for record in records.values():
        assert set(record.components) >= CLIP_KINDS, record
        if not record.empty:
            duration = by_label[record.duration]
            assert layout.clip_path(EVENT_NPY, "train", duration, name, record.clip).is_file()
            assert layout.clip_path(MP4, "train", duration, name, record.clip).is_file()


def assert_no_half_written(out: Path, name: str) -> None:
    """No temp file anywhere; every .npy/.mp4 of ``name`` belongs to a recorded, finished clip."""
    temps = [p for p in out.rglob("*") if is_temp_name(p.name)]
    assert temps == []
    records = Manifest(StateLayout(out)).sequence_records("train", name)
    recorded = {(r.duration, f"{r.clip:06d}") for r in records.values()}
    for path in out.glob(f"train/*/*/{name}/*"):
        if path.suffix in (".npy", ".mp4"):
            assert (path.parts[-4], path.stem) in recorded, path


def assert_only_bad_failed(report: BuildReport, out: Path, root: Path, words: list[str]) -> str:
    """Exactly the broken sequence failed, its message has every word; the good one is whole."""
    failed = {r.key.split("@")[0] for r in report.failures}
    assert failed == {f"train/{BAD}"}, report.failures
    message = " ".join(r.error or "" for r in report.failures)
    for word in words:
        assert word.lower() in message.lower(), (word, message)
    assert_fully_built(out, root, GOOD)
    assert_no_half_written(out, BAD)
    assert_no_half_written(out, GOOD)
    return message


# --- ways to break a sequence ---------------------------------------------------------------


def rewrite_dataset(h5: Path, name: str, change: Callable[[np.ndarray], np.ndarray]) -> None:
    with h5py.File(h5, "r+") as f:
        data = change(f[name][()])
        del f[name]
        f.create_dataset(name, data=data)


def _delete(h5: Path, name: str) -> None:
    with h5py.File(h5, "r+") as f:
        del f[name]


def middle_event(h5: Path, seq: Path) -> int:
    """An event 2.125 s in: clips before it are finished when it is read, others are open.

    It lies far from every clip boundary (all on multiples of 250 ms), and its neighbour
    shares its millisecond but not its time, so swapping the two leaves ms_to_idx right.
    """
    first_image = int(read_timestamps(SequenceFiles(seq).timestamps)[0])
    with h5py.File(h5, "r") as f:
        t = f["events/t"][()].astype(np.int64)
        target = first_image + 2_125_000 - int(f["t_offset"][()])
    i = int(np.searchsorted(t, target))
    while not (t[i] < t[i + 1] and t[i] // 1000 == t[i + 1] // 1000):
        i += 1
    return i


def swap_two_times(seq: Path) -> None:
    h5 = SequenceFiles(seq).events_h5
    i = middle_event(h5, seq)
    with h5py.File(h5, "r+") as f:
        t = f["events/t"]
        t[i : i + 2] = t[i : i + 2][::-1]


def poke(name: str, value: int) -> Breaker:
    def breaker(seq: Path) -> None:
        h5 = SequenceFiles(seq).events_h5
        i = middle_event(h5, seq)
        with h5py.File(h5, "r+") as f:
            f[name][i] = value

    return breaker


def truncate_half(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def set_timestamps(text: str) -> Breaker:
    def breaker(seq: Path) -> None:
        SequenceFiles(seq).timestamps.write_text(text)

    return breaker


def swap_timestamp_lines(seq: Path) -> None:
    lines = SequenceFiles(seq).timestamps.read_text().splitlines()
    lines[5], lines[6] = lines[6], lines[5]
    SequenceFiles(seq).timestamps.write_text("\n".join(lines) + "\n")


def drop_last_frames(seq: Path) -> None:
    for png in sorted(SequenceFiles(seq).frames_dir.iterdir())[-5:]:
        png.unlink()


CASES: dict[str, tuple[Breaker, list[str]]] = {
    "missing events.h5": (
        lambda seq: SequenceFiles(seq).events_h5.unlink(),
        ["events.h5", "missing", FIX_EVENTS],
    ),
    "truncated events.h5": (
        lambda seq: truncate_half(SequenceFiles(seq).events_h5),
        ["events.h5", "cannot be opened", FIX_EVENTS],
    ),
    "missing events/x": (
        lambda seq: _delete(SequenceFiles(seq).events_h5, "events/x"),
        ["events.h5", "missing", "events/x", FIX_EVENTS],
    ),
    "missing events/p": (
        lambda seq: _delete(SequenceFiles(seq).events_h5, "events/p"),
        ["events.h5", "missing", "events/p", FIX_EVENTS],
    ),
    "missing ms_to_idx": (
        lambda seq: _delete(SequenceFiles(seq).events_h5, "ms_to_idx"),
        ["events.h5", "missing", "ms_to_idx", FIX_EVENTS],
    ),
    "ms_to_idx halved": (  # plausible (0, increasing, in range) but wrong: caught at lookups
        lambda seq: rewrite_dataset(SequenceFiles(seq).events_h5, "ms_to_idx", lambda ms: ms // 2),
        ["events.h5", "ms_to_idx is inconsistent with events/t", FIX_EVENTS],
    ),
    "ms_to_idx reversed": (  # caught when the file is opened
        lambda seq: rewrite_dataset(
            SequenceFiles(seq).events_h5, "ms_to_idx", lambda ms: ms[::-1].copy()
        ),
        ["events.h5", "ms_to_idx is inconsistent with events/t", FIX_EVENTS],
    ),
    "unsorted t": (swap_two_times, ["events.h5", "events/t is not sorted", FIX_EVENTS]),
    "x outside the sensor": (
        poke("events/x", 640),
        ["events.h5", "outside the 640x480 sensor", FIX_EVENTS],
    ),
    "y outside the sensor": (
        poke("events/y", 4000),
        ["events.h5", "outside the 640x480 sensor", FIX_EVENTS],
    ),
    "missing timestamps.txt": (
        lambda seq: SequenceFiles(seq).timestamps.unlink(),
        ["timestamps.txt", "missing", "restore"],
    ),
    "empty timestamps.txt": (set_timestamps(""), ["timestamps.txt", "empty", "restore"]),
    "non-numeric timestamps.txt": (
        set_timestamps("36000000100\n36000050100\nabc\n"),
        ["timestamps.txt", "not integers", "restore"],
    ),
    "non-increasing timestamps.txt": (
        swap_timestamp_lines,
        ["timestamps.txt", "not strictly increasing", "line 7", "restore"],
    ),
    "fewer frames than timestamps": (
        drop_last_frames,
        ["rectified", "76 frame PNGs for 81 timestamps", "re-extract"],
    ),
    "truncated PNG frame": (
        lambda seq: truncate_half(SequenceFiles(seq).frames_dir / "000030.png"),
        ["000030.png", "cannot be decoded", "re-extract"],
    ),
}


MID_STREAM = {"unsorted t", "x outside the sensor", "y outside the sensor", "truncated PNG frame"}


@pytest.mark.parametrize("case", list(CASES))
def test_broken_sequence_fails_alone(case: str, root: Path, tmp_path: Path) -> None:
    breaker, words = CASES[case]
    breaker(root / "train" / BAD)
    out = tmp_path / "out"
    report = run_build(root, out)
    assert_only_bad_failed(report, out, root, words)
    assert str(root / "train" / BAD) in " ".join(r.error or "" for r in report.failures)
    if case in MID_STREAM:  # clips finished before the bad spot are kept, and recorded
        assert Manifest(StateLayout(out)).sequence_records("train", BAD)


@pytest.mark.parametrize("case", sorted(MID_STREAM))
def test_with_threads_a_stopped_job_leaves_no_file_without_a_record(
    case: str, root: Path, tmp_path: Path
) -> None:
    """With 2 cores a clip's files are in place a moment before its record is written:
    a job that bad input stops drops the files of such clips (the next build redoes them)."""
    breaker, words = CASES[case]
    breaker(root / "train" / BAD)
    out = tmp_path / "out"
    report = run_build(root, out, workers=2)
    assert_only_bad_failed(report, out, root, words)
    unowned = [p for p in verify_output(out).problems if p.clip < 0 and p.component != "json"]
    assert unowned == []


def test_unidentifiable_first_frame_fails_alone(root: Path, tmp_path: Path) -> None:
    SequenceFiles(root / "train" / BAD).frame(0).write_bytes(b"not a png at all")
    out = tmp_path / "out"
    report = run_build(root, out)
    assert_only_bad_failed(report, out, root, ["000000.png", "cannot be read", "re-extract"])


def test_frame_size_names_the_broken_file(tmp_path: Path) -> None:
    junk = tmp_path / "000000.png"
    junk.write_bytes(b"not a png at all")
    with pytest.raises(InputError, match=r"000000\.png: frame image cannot be read"):
        frame_size(junk)
    with pytest.raises(InputError, match="frame image is missing"):
        frame_size(tmp_path / "000001.png")


def write_small_h5(path: Path, t: np.ndarray) -> None:
    n = len(t)
    zeros = np.zeros(n, dtype=np.uint16)
    write_events_h5(path, [(zeros, zeros, np.ones(n, np.uint8), t)], t_offset=1_000_000)


def test_index_at_is_exact_and_checked(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    t = np.sort(rng.integers(0, 50_000, 3000)).astype(np.uint32)
    h5 = tmp_path / "events.h5"
    write_small_h5(h5, t)
    times = np.concatenate([rng.integers(-5_000, 60_000, 500), np.arange(-2, 60) * 1000])
    with EventFile(h5) as events:
        got = events.index_at(times + 1_000_000)
    np.testing.assert_array_equal(got, np.searchsorted(t.astype(np.int64), times, side="left"))


def test_unsorted_t_across_two_reads_is_caught(tmp_path: Path) -> None:
    t = np.arange(100, dtype=np.uint32) * 10
    h5 = tmp_path / "events.h5"
    write_small_h5(h5, t)
    with h5py.File(h5, "r+") as f:
        f["events/t"][49:51] = [505, 495]  # a step back exactly between reads [0, 50) and [50, 100)
    with EventFile(h5) as events:
        events.read(0, 50)
        with pytest.raises(InputError, match="events/t is not sorted inside \\[49, 100\\)"):
            events.read(50, 100)


# --- inputs that are odd but not failures ---------------------------------------------------


def test_missing_t_offset_is_zero_with_a_warning(
    root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seq = root / "train" / BAD
    with h5py.File(SequenceFiles(seq).events_h5, "r+") as f:
        t_offset = int(f["t_offset"][()])
        del f["t_offset"]
    relative = read_timestamps(SequenceFiles(seq).timestamps) - t_offset  # on the events' clock
    SequenceFiles(seq).timestamps.write_text("".join(f"{t}\n" for t in relative))
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING):
        report = run_build(root, out)
    assert report.failures == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("t_offset" in r.getMessage() and BAD in r.getMessage() for r in warnings)
    for name in (GOOD, BAD):
        assert_fully_built(out, root, name)
        assert_no_half_written(out, name)
    records = Manifest(StateLayout(out)).sequence_records("train", BAD)
    assert sum(r.num_events for r in records.values()) > 0


def test_sequence_shorter_than_every_duration_is_not_a_failure(root: Path, tmp_path: Path) -> None:
    seq = root / "train" / BAD
    shutil.rmtree(seq)
    short = SynthSpec(sequences=2, seconds=0.4, rate=2e4, seed=11, frame_size=(64, 48))
    write_sequence(seq, short, SequenceSlot("train", BAD, 1))
    out = tmp_path / "out"
    report = run_build(root, out)
    assert report.failures == []
    assert report.too_short == {f"train/{BAD}": ("500ms", "1s")}
    assert_fully_built(out, root, GOOD)
    assert not any(out.glob(f"train/*/*/{BAD}"))
    assert_no_half_written(out, BAD)


def test_sequence_symlinked_from_outside_the_root_is_read(root: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / BAD
    elsewhere.parent.mkdir()
    shutil.move(root / "train" / BAD, elsewhere)
    (root / "train" / BAD).symlink_to(elsewhere, target_is_directory=True)
    out = tmp_path / "out"
    report = run_build(root, out)
    assert report.failures == []
    for name in (GOOD, BAD):
        assert_fully_built(out, root, name)
    npy = out / "train" / "500ms" / "event_npy" / BAD
    assert npy.is_dir() and not npy.is_symlink()
    labels = SequenceFiles(elsewhere).tracks  # synth's DSEC-Detection labels: input
    assert not any(p.suffix == ".npy" and p != labels for p in elsewhere.rglob("*"))


# --- the command line -----------------------------------------------------------------------


def test_cli_exits_nonzero_and_lists_failures(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    SequenceFiles(root / "train" / BAD).events_h5.unlink()
    out = tmp_path / "out"
    args = ["--dsec-root", str(root), "--out", str(out), "--durations", "500ms,1s"]
    code = main(["build", *args, "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 1
    assert "1 sequence(s) FAILED" in err
    assert f"train/{BAD}" in err and "events.h5" in err and "events file is missing" in err
    assert f"train/{GOOD}:" not in err
    assert_fully_built(out, root, GOOD)


def test_cli_missing_dsec_root_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-root"
    code = main(["build", "--dsec-root", str(missing), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert str(missing) in err and "does not exist" in err and "--dsec-root" in err
    assert "Traceback" not in err


# --- names and paths never leave OUT --------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["..", ".", "../x", "a/b", "a\\b", "a b", ".hidden", "-rf", "a..b", "x\n", "é", ""]
)
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="not a plain name"):
        check_safe_name(name, "sequence", Path("/dsec/train") / "x")


@pytest.mark.parametrize("name", ["zurich_city_04_b", "synth_00", "a.b-c", "2024"])
def test_plain_names_pass(name: str) -> None:
    check_safe_name(name, "sequence", Path("/dsec/train") / name)


def test_odd_sequence_folder_is_refused_before_any_output(root: Path, tmp_path: Path) -> None:
    shutil.move(root / "train" / BAD, root / "train" / "bad name")
    with pytest.raises(InputError, match="'bad name' is not a plain name") as caught:
        discover_sequences(root)
    assert "rename the folder" in str(caught.value)
    out = tmp_path / "out"
    with pytest.raises(InputError):
        run_build(root, out)
    assert not (out / "train").exists()


def test_ensure_inside_accepts_paths_below_root(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "train" / "500ms").mkdir(parents=True)
    ensure_inside(out, out)
    ensure_inside(out, out / "train" / "500ms" / "event_npy" / "seq" / "000001.npy")  # not yet
    (out / "shared").mkdir()
    (out / "train" / "link").symlink_to(out / "shared")  # a link that stays inside is fine
    ensure_inside(out, out / "train" / "link" / "x.npy")


def test_ensure_inside_accepts_a_symlinked_root(tmp_path: Path) -> None:
    disk = tmp_path / "big-disk"
    disk.mkdir()
    out = tmp_path / "out"
    out.symlink_to(disk, target_is_directory=True)
    ensure_inside(out, out / "train" / "x.npy")


def test_ensure_inside_refuses_a_planted_symlink(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    folder = out / "train" / "500ms" / "event_npy"
    folder.mkdir(parents=True)
    (folder / "seq").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeOutputPath) as caught:
        ensure_inside(out, folder / "seq" / "000000.npy")
    assert isinstance(caught.value, ValueError)
    assert str(folder / "seq" / "000000.npy") in str(caught.value)
    assert str(outside) in str(caught.value) and "symlink" in str(caught.value)
    with pytest.raises(UnsafeOutputPath):
        ensure_inside(out, folder / "seq")
    (folder / "dangling").symlink_to(tmp_path / "nowhere")  # does not exist yet: still outside
    with pytest.raises(UnsafeOutputPath):
        ensure_inside(out, folder / "dangling" / "000000.npy")


def test_ensure_inside_refuses_dotdot(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UnsafeOutputPath):
        ensure_inside(out, out / "train" / ".." / ".." / "escaped.npy")
    with pytest.raises(UnsafeOutputPath):
        ensure_inside(out, tmp_path / "out-sibling" / "x.npy")  # a shared prefix is not inside


def test_build_refuses_to_write_through_a_planted_symlink(root: Path, tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    (out / STATE_DIR).mkdir(parents=True)  # an earlier output (others' files are refused)
    folder = out / "train" / "500ms" / "event_npy"
    folder.mkdir(parents=True)
    (folder / BAD).symlink_to(outside, target_is_directory=True)
    report = run_build(root, out)
    assert list(outside.iterdir()) == []
    assert_only_bad_failed(report, out, root, [str(folder / BAD), "outside the output folder"])
