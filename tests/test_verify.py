"""verify: a clean build passes; each kind of damage is reported as exactly its file, and
fix_output + the same build restore the clean bytes while other clips stay untouched."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from egpt_dsec.cli.verify import add_arguments as add_verify_arguments
from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import Duration, parse_durations
from egpt_dsec.events import Events
from egpt_dsec.kinds import EVENT_IMAGE, EVENT_NPY, MP4, VIDEO
from egpt_dsec.layout.output import DATASET_CARD, OutputLayout
from egpt_dsec.layout.state import STATE_DIR, StateLayout
from egpt_dsec.pipeline import build
from egpt_dsec.reports.verify import (
    ClipId,
    VerifyReport,
    count_clips,
    fix_output,
    format_verify,
    verify_output,
)
from egpt_dsec.safe_npy import load_event_npy
from egpt_dsec.state.manifest import ClipRecord, Manifest
from egpt_dsec.state.running import mark_running
from egpt_dsec.writers.event_npy import ClipMetadata, event_npy_bytes
from helpers import copy_build

DURATIONS = parse_durations("500ms,1s")
SPLIT, SEQUENCE = "train", "synth_00"
ONE_SECOND, HALF_SECOND = Duration.parse("1s"), Duration.parse("500ms")


@pytest.fixture(scope="module")
def clean(small_dsec: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildConfig:
    config = BuildConfig(
        dsec_root=small_dsec, out=tmp_path_factory.mktemp("clean"), durations=DURATIONS, workers=1
    )
    assert not build(config).failures
    return config


@pytest.fixture
def copy(clean: BuildConfig, tmp_path: Path) -> BuildConfig:
    """A private copy of the clean build (and its state) to damage."""
    return copy_build(clean, tmp_path / "out")


def output_files(root: Path) -> dict[str, Path]:
    """Every output file by relative path: state excluded, and the dataset card (its byte
    counts see the copied frames of a ``copy`` as the copies they are, not links)."""
    return {
        p.relative_to(root).as_posix(): p
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != STATE_DIR and p != root / DATASET_CARD
    }


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        rel: hashlib.sha256(p.read_bytes()).hexdigest() for rel, p in output_files(root).items()
    }


def clip_files(out: Path, split: str, sequence: str, duration: str, clip: int) -> set[str]:
    """Relative paths of every file of one clip."""
    layout, d = OutputLayout(out), Duration.parse(duration)
    paths = [
        layout.clip_path(EVENT_NPY, split, d, sequence, clip),
        layout.clip_path(MP4, split, d, sequence, clip),
        *(layout.clip_path(EVENT_IMAGE, split, d, sequence, clip, i) for i in range(5)),
    ]
    video = layout.clip_path(VIDEO, split, d, sequence, clip)
    paths += list(video.iterdir()) if video.is_dir() else []
    return {p.relative_to(out).as_posix() for p in paths}


def record(out: Path, duration: Duration, clip: int, sequence: str = SEQUENCE) -> ClipRecord:
    records = Manifest(StateLayout(out)).sequence_records(SPLIT, sequence)
    return records[(duration.label, clip)]


def fix_and_rebuild(config: BuildConfig, report: VerifyReport, clean: BuildConfig) -> set[ClipId]:
    """fix_output, then the same build: only the forgotten clips may change, to clean bytes."""
    fixed = fix_output(config.out, report)
    affected = set().union(*(clip_files(config.out, *c) for c in fixed)) if fixed else set()
    mtimes = {
        rel: p.stat().st_mtime_ns
        for rel, p in output_files(config.out).items()
        if rel not in affected and p.suffix != ".json"
    }
    assert not build(config).failures
    assert verify_output(config.out).ok()
    assert tree_hashes(config.out) == tree_hashes(clean.out)
    files = output_files(config.out)
    assert {rel: files[rel].stat().st_mtime_ns for rel in mtimes} == mtimes
    return fixed


# --- damage: each returns (component, path, clip) of the one file it broke -------------


class _Payload:
    """Unpickling this runs a shell command: what a malicious .npy would do."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Callable[[str], int], tuple[str]]:
        return (os.system, (self.command,))


def malicious_npy_bytes(command: str) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "|O", "fortran_order": False, "shape": ()}
    )
    return buffer.getvalue() + pickle.dumps(_Payload(command))  # the header has the magic


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def truncate_npy(out: Path, marker: Path) -> tuple[str, Path, int]:
    path = OutputLayout(out).clip_path(EVENT_NPY, SPLIT, ONE_SECOND, SEQUENCE, 3)
    truncate(path)
    return "event_npy", path, 3


def delete_png(out: Path, marker: Path) -> tuple[str, Path, int]:
    path = OutputLayout(out).clip_path(EVENT_IMAGE, SPLIT, ONE_SECOND, SEQUENCE, 4, 2)
    path.unlink()
    return "event_image", path, 4


def corrupt_png(out: Path, marker: Path) -> tuple[str, Path, int]:
    path = OutputLayout(out).clip_path(EVENT_IMAGE, SPLIT, HALF_SECOND, SEQUENCE, 7, 0)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    path.write_bytes(bytes(data))
    return "event_image", path, 7


def malicious_npy(out: Path, marker: Path) -> tuple[str, Path, int]:
    path = OutputLayout(out).clip_path(EVENT_NPY, SPLIT, HALF_SECOND, SEQUENCE, 2)
    path.write_bytes(malicious_npy_bytes(f"touch {marker}"))
    return "event_npy", path, 2


def truncate_mp4(out: Path, marker: Path) -> tuple[str, Path, int]:
    path = OutputLayout(out).clip_path(MP4, SPLIT, ONE_SECOND, SEQUENCE, 5)
    truncate(path, 0.6)
    return "mp4", path, 5


def delete_frame(out: Path, marker: Path) -> tuple[str, Path, int]:
    folder = OutputLayout(out).clip_path(VIDEO, SPLIT, HALF_SECOND, SEQUENCE, 9)
    path = sorted(folder.iterdir())[3]
    path.unlink()
    return "video", path, 9


def delete_json_entry_file(out: Path, marker: Path) -> tuple[str, Path, int]:
    layout = OutputLayout(out)
    items = json.loads(layout.videollava_json(SPLIT, HALF_SECOND).read_text())
    entry = next(item for item in items if item["id"] == f"{SEQUENCE}_500ms_000011")
    path = layout.kind_dir(SPLIT, HALF_SECOND, MP4) / entry["video"]
    path.unlink()
    return "mp4", path, 11


DAMAGE = [
    truncate_npy,
    delete_png,
    corrupt_png,
    malicious_npy,
    truncate_mp4,
    delete_frame,
    delete_json_entry_file,
]


# --- tests ------------------------------------------------------------------------------


def test_clean_build_passes(clean: BuildConfig) -> None:
    calls: list[int] = []
    report = verify_output(clean.out, reporter=calls.append)
    assert report.ok(), format_verify(report)
    assert sum(calls) == len(calls) == report.clips == count_clips(clean.out) > 30
    assert report.checked["event_npy"] > 30 and report.checked["mp4"] > 30
    assert report.checked["event_image"] == 5 * report.checked["event_npy"]
    # per duration EventGPT + Video-LLaVA files (2 durations), per split the two combined
    assert report.checked["empty"] > 0 and report.checked["json"] == 6
    table = format_verify(report)
    assert "OK:" in table
    shown = {line.split()[0] for line in table.splitlines()[2:-1]}
    assert shown == {c for c, n in report.checked.items() if n} | {"records"}
    assert "event_tensor" not in shown and "mp4" in shown  # a kind not built has no row
    with_source = verify_output(clean.out, clean.dsec_root, workers=2)
    assert with_source.ok(), format_verify(with_source)
    assert with_source.checked == report.checked


@pytest.mark.parametrize("damage", DAMAGE, ids=[d.__name__ for d in DAMAGE])
def test_damage_is_reported_as_exactly_its_file(
    damage: Callable[[Path, Path], tuple[str, Path, int]], copy: BuildConfig, tmp_path: Path
) -> None:
    marker = tmp_path / "payload-ran"
    component, path, clip = damage(copy.out, marker)
    report = verify_output(copy.out)
    assert not report.ok()
    assert [(p.component, p.path) for p in report.problems] == [(component, path)]
    problem = report.problems[0]
    duration = path.relative_to(copy.out).parts[1]
    assert problem.clip_id == (SPLIT, SEQUENCE, duration, clip)
    assert report.bad(component) == 1
    assert f"[{component}] {path}" in format_verify(report)
    assert not marker.exists()


def test_fix_then_build_redoes_only_the_damaged_clips(
    copy: BuildConfig, clean: BuildConfig, tmp_path: Path
) -> None:
    marker = tmp_path / "payload-ran"
    broken = [damage(copy.out, marker) for damage in DAMAGE]
    report = verify_output(copy.out, workers=2)
    assert {(p.component, p.path) for p in report.problems} == {(c, p) for c, p, _ in broken}
    fixed = fix_and_rebuild(copy, report, clean)
    assert fixed == {
        (SPLIT, SEQUENCE, path.relative_to(copy.out).parts[1], clip) for _, path, clip in broken
    }
    assert not marker.exists()


def test_malicious_npy_never_runs_even_with_dsec_root(copy: BuildConfig, tmp_path: Path) -> None:
    live = tmp_path / "live.npy"  # first prove the payload is live: plain np.load runs it
    live.write_bytes(malicious_npy_bytes(f"touch {tmp_path / 'np-load-ran'}"))
    np.load(live, allow_pickle=True)
    assert (tmp_path / "np-load-ran").exists()
    marker = tmp_path / "payload-ran"
    _, path, _ = malicious_npy(copy.out, marker)
    report = verify_output(copy.out, copy.dsec_root, workers=2)
    assert [p.path for p in report.problems] == [path]
    assert "unsafe pickle, refused global posix.system" in report.problems[0].what
    assert not marker.exists()


def test_source_mismatches_are_caught_with_the_source(
    copy: BuildConfig, clean: BuildConfig
) -> None:
    layout = OutputLayout(copy.out)
    # events altered but still a well-formed file
    npy = layout.clip_path(EVENT_NPY, SPLIT, ONE_SECOND, SEQUENCE, 6)
    data = load_event_npy(npy)
    data["x"][100] = (int(data["x"][100]) + 1) % 640
    meta = ClipMetadata(**{k: v for k, v in data.items() if k not in ("p", "t", "x", "y")})
    npy.write_bytes(event_npy_bytes(Events(data["p"], data["t"], data["x"], data["y"]), meta))
    # a record whose event range is off by one
    manifest = Manifest(StateLayout(layout.root))
    good = record(copy.out, HALF_SECOND, 12)
    manifest.forget(SPLIT, SEQUENCE, {good.key})
    writer = manifest.writer(SPLIT, SEQUENCE)
    writer.append(dataclasses.replace(good, event_start=good.event_start + 1))
    writer.close()

    assert verify_output(copy.out).ok()  # both agree with themselves: only the source tells
    report = verify_output(copy.out, copy.dsec_root)
    assert [(p.component, p.clip) for p in report.problems] == [("records", 12), ("event_npy", 6)]
    assert report.problems[1].path == npy
    assert "x differs from the source events" in report.problems[1].what
    assert fix_and_rebuild(copy, report, clean) == {
        (SPLIT, SEQUENCE, "1s", 6),
        (SPLIT, SEQUENCE, "500ms", 12),
    }


def test_stray_files_and_a_stale_json(copy: BuildConfig, clean: BuildConfig) -> None:
    layout = OutputLayout(copy.out)
    temp = layout.clip_path(EVENT_NPY, SPLIT, ONE_SECOND, SEQUENCE, 1).with_name(
        ".000001.npy.tmp-99-0"
    )
    temp.write_bytes(b"half a file")
    part0 = layout.clip_path(EVENT_IMAGE, SPLIT, ONE_SECOND, SEQUENCE, 2, 0)
    extra = layout.clip_path(EVENT_IMAGE, SPLIT, ONE_SECOND, SEQUENCE, 2, 5)
    shutil.copyfile(part0, extra)
    records = Manifest(StateLayout(layout.root)).sequence_records(SPLIT, "interlaken_00_d").values()
    empty = next(r for r in records if r.empty)
    stale = layout.clip_path(
        EVENT_NPY, SPLIT, Duration.parse(empty.duration), "interlaken_00_d", empty.clip
    )
    stale.write_bytes(b"not events")
    dataset = layout.eventgpt_json(SPLIT, HALF_SECOND)
    dataset.write_text(json.dumps(json.loads(dataset.read_text())[1:], indent=1))

    report = verify_output(copy.out)
    found = {(p.component, p.path, p.clip) for p in report.problems}
    assert found == {
        ("temp", temp, -1),
        ("event_image", extra, 2),
        ("empty", stale, empty.clip),
        ("json", dataset, -1),
    }
    assert "differs from what the manifest" in next(
        p.what for p in report.problems if p.component == "json"
    )
    fixed = fix_and_rebuild(copy, report, clean)
    assert fixed == {
        (SPLIT, SEQUENCE, "1s", 2),
        (SPLIT, "interlaken_00_d", empty.duration, empty.clip),
    }
    assert not temp.exists() and not extra.exists() and not stale.exists()


def test_files_no_record_owns_are_reported_and_fixed(copy: BuildConfig, clean: BuildConfig) -> None:
    layout = OutputLayout(copy.out)
    records = Manifest(StateLayout(copy.out)).sequence_records(SPLIT, SEQUENCE)
    assert (ONE_SECOND.label, 123) not in records and (HALF_SECOND.label, 123) not in records
    npy = layout.clip_path(EVENT_NPY, SPLIT, ONE_SECOND, SEQUENCE, 123)  # a clip not built
    shutil.copyfile(layout.clip_path(EVENT_NPY, SPLIT, ONE_SECOND, SEQUENCE, 3), npy)
    png = layout.clip_path(EVENT_IMAGE, SPLIT, HALF_SECOND, SEQUENCE, 123, 0)
    shutil.copyfile(layout.clip_path(EVENT_IMAGE, SPLIT, HALF_SECOND, SEQUENCE, 3, 0), png)
    frames = layout.clip_path(VIDEO, SPLIT, ONE_SECOND, SEQUENCE, 123)
    shutil.copytree(layout.clip_path(VIDEO, SPLIT, ONE_SECOND, SEQUENCE, 3), frames)
    stray = npy.with_name("notes.txt")  # beside the clips, named like none of them
    stray.write_text("mine")
    loose = layout.kind_dir(SPLIT, ONE_SECOND, MP4) / "clip.mp4"  # outside a sequence folder
    loose.write_bytes(b"not a clip")
    ghost = layout.clip_path(MP4, SPLIT, ONE_SECOND, "ghost_00_a", 1)  # a sequence not built
    ghost.parent.mkdir()
    shutil.copyfile(layout.clip_path(MP4, SPLIT, ONE_SECOND, SEQUENCE, 3), ghost)

    report = verify_output(copy.out)
    found = {(p.component, p.path, p.clip_id) for p in report.problems}
    assert found == {
        ("event_npy", npy, None),
        ("event_image", png, None),
        ("video", frames, None),
        ("event_npy", stray, None),
        ("mp4", loose, None),
        ("mp4", ghost, None),
    }
    why = {p.path: p.what for p in report.problems}
    assert why[npy] == f"no clip owns it: {SEQUENCE} has no 1s clip 123 in the manifest"
    assert why[stray].startswith("no clip owns it: not named like event_npy clip files")
    assert why[loose].startswith("not in a sequence folder")
    assert report.bad("event_npy") == 2 and f"[video] {frames}" in format_verify(report)
    assert fix_and_rebuild(copy, report, clean) == set()  # no record forgotten, none redone
    assert not any(p.exists() for p in (npy, png, frames, stray, loose, ghost))


def test_fix_refuses_while_a_build_runs(copy: BuildConfig) -> None:
    marker = mark_running(StateLayout(copy.out), SPLIT, SEQUENCE)
    report = verify_output(copy.out)
    assert report.running == [f"{SPLIT}/{SEQUENCE}"]
    assert "a build is running" in format_verify(report)
    with pytest.raises(RuntimeError, match="running"):
        fix_output(copy.out, report)
    marker.unlink()


def test_ref_format_entries_point_at_the_source(small_dsec: Path, tmp_path: Path) -> None:
    config = BuildConfig(
        dsec_root=small_dsec, out=tmp_path / "out", durations=(HALF_SECOND,),
        sequences=(SEQUENCE,), components=("event_npy", "json"), event_format="ref", workers=1,
    )  # fmt: skip
    assert not build(config).failures
    assert verify_output(config.out).ok() and verify_output(config.out, small_dsec).ok()
    dataset = OutputLayout(config.out).eventgpt_json(SPLIT, HALF_SECOND)
    clean_bytes = dataset.read_bytes()
    items = json.loads(clean_bytes)
    items[3]["event_source"]["start"] += 1
    dataset.write_text(json.dumps(items, indent=1))
    report = verify_output(config.out, small_dsec)
    assert [(p.component, p.path) for p in report.problems] == [("json", dataset)]
    assert "differs from what the manifest" in report.problems[0].what
    assert fix_output(config.out, report) == set() and not dataset.exists()
    assert not build(config).failures
    assert dataset.read_bytes() == clean_bytes


def test_a_folder_without_a_build_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no egpt-dsec build"):
        verify_output(tmp_path)


def test_verify_arguments() -> None:
    parser = argparse.ArgumentParser()
    add_verify_arguments(parser)
    args = parser.parse_args(["--out", "o", "--dsec-root", "d", "--fix", "--workers", "3"])
    assert (args.out, args.dsec_root, args.fix, args.workers) == (Path("o"), Path("d"), True, 3)
    args = parser.parse_args(["--out", "o"])
    assert (args.dsec_root, args.fix, args.workers) == (None, False, 1)
