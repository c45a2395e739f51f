"""Event .npz: streamed file == in-memory bytes == what numpy, zipfile and an EventBench-style
loader read; ZIP64 sizes and offsets past 4 GiB (sparse file); refusals; the verify helper."""

from __future__ import annotations

import io
import itertools
import os
import re
import shutil
import struct
import subprocess
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from egpt_dsec.events import Events
from egpt_dsec.writers import event_npz, event_npz_read, sized_file
from egpt_dsec.writers.event_npz import (
    EventNpzWriter,
    event_npz_bytes,
    npy_header,
    npz_file_size,
)
from egpt_dsec.writers.event_npz_read import load_event_npz, npz_problem

T0 = 36_607_300_000
T1 = T0 + 16_000_000
ORDER = ["x", "y", "t", "p"]


def make_events(n: int, seed: int = 0) -> Events:
    rng = np.random.default_rng(seed)
    return Events(
        rng.integers(0, 2, n).astype(np.uint8),
        np.sort(rng.integers(T0, T1, n)).astype(np.int64),
        rng.integers(0, 640, n).astype(np.uint16),
        rng.integers(0, 480, n).astype(np.uint16),
    )


def cuts(n: int, how: str, seed: int = 0) -> list[tuple[int, int]]:
    if how == "one":
        bounds = [0, n]
    elif how == "each":
        bounds = list(range(n + 1))
    else:  # random cut points, empty chunks included
        rng = np.random.default_rng(seed)
        bounds = sorted([0, n, *rng.integers(0, n + 1, 12).tolist()])
    return list(itertools.pairwise(bounds))


def stream(path: Path, events: Events, how: str = "random") -> bytes:
    with EventNpzWriter(path, len(events)) as writer:
        for start, stop in cuts(len(events), how):
            writer.write(start, events.slice(start, stop))
    return path.read_bytes()


def assert_same_events(got: Events | dict[str, np.ndarray], want: Events) -> None:
    for name in ORDER:
        arr = got[name] if isinstance(got, dict) else getattr(got, name)
        assert arr.dtype == getattr(want, name).dtype, name
        np.testing.assert_array_equal(arr, getattr(want, name), err_msg=name)


# ---------------------------------------------------------------------------
# What is written.


@pytest.mark.parametrize(
    ("n", "how"),
    [(0, "one"), (1, "one"), (1, "each"), (500, "each"), (20_000, "random"), (20_000, "one")],
)
def test_streamed_file_is_the_in_memory_bytes(tmp_path: Path, n: int, how: str) -> None:
    events = make_events(n, seed=n)
    data = stream(tmp_path / "clip.npz", events, how)
    assert data == event_npz_bytes(events)
    assert len(data) == npz_file_size(n) == 1146 + 13 * n
    assert os.listdir(tmp_path) == ["clip.npz"]  # no temp left behind


@pytest.mark.parametrize("n", [0, 1, 3_000])
def test_numpy_and_zipfile_read_exactly_the_events(tmp_path: Path, n: int) -> None:
    events, path = make_events(n, seed=3), tmp_path / "clip.npz"
    stream(path, events)
    with np.load(path, allow_pickle=False) as loaded:
        assert loaded.files == ORDER
        assert_same_events({name: loaded[name] for name in ORDER}, events)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        for info in archive.infolist():
            member = archive.read(info)
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert zlib.crc32(member) == info.CRC
            saved = io.BytesIO()  # the member is exactly what np.save writes for the array
            np.save(saved, getattr(events, info.filename.removesuffix(".npy")))
            assert member == saved.getvalue()
    assert_same_events(load_event_npz(path), events)


@pytest.mark.parametrize("n", [0, 7, 10**20])
def test_npy_header_is_numpys(n: int) -> None:
    for name, descr in [("x", "<u2"), ("t", "<i8"), ("p", "|u1")]:
        buf = io.BytesIO()
        header = {"descr": descr, "fortran_order": False, "shape": (n,)}
        np.lib.format.write_array_header_1_0(buf, header)
        assert npy_header(name, n) == buf.getvalue()


@pytest.mark.skipif(shutil.which("unzip") is None, reason="no unzip")
def test_info_zip_unzip_tests_the_archive(tmp_path: Path) -> None:
    path = tmp_path / "clip.npz"
    stream(path, make_events(2_000))
    out = subprocess.run(["unzip", "-t", path], capture_output=True, text=True, check=True)
    assert "No errors detected" in out.stdout


def load_like_eventbench(path: Path) -> tuple[dict[str, np.ndarray], int]:
    """What EventBench's --use_npz path does with a file (written afresh, not copied): load
    without pickle, take x, y, t, p by name, cast each to its dtype; then the time span
    its bin selector starts from."""
    archive = np.load(path)
    events = {
        "p": archive["p"].astype(np.uint8, copy=False),
        "x": archive["x"].astype(np.uint16, copy=False),
        "y": archive["y"].astype(np.uint16, copy=False),
        "t": archive["t"].astype(np.int64, copy=False),
    }
    return events, int(events["t"].max() - events["t"].min())


def test_eventbench_style_load_gets_the_events(tmp_path: Path) -> None:
    events, path = make_events(10_000, seed=5), tmp_path / "clip.npz"
    stream(path, events)
    got, span = load_like_eventbench(path)
    assert_same_events(got, events)
    assert span == int(events.t[-1] - events.t[0]) > 0


def test_same_events_give_identical_bytes(tmp_path: Path) -> None:
    events = make_events(5_000, seed=9)
    first = stream(tmp_path / "a.npz", events, "random")
    second = stream(tmp_path / "b.npz", events, "one")
    assert first == second
    other = stream(tmp_path / "c.npz", make_events(5_000, seed=10))
    assert other != first and len(other) == len(first)


# ---------------------------------------------------------------------------
# ZIP64: sizes and offsets past 4 GiB, in a sparse file.

BIG = 2**29 + 2**20  # t.npy holds 8 * BIG bytes > 4 GiB; p.npy starts past 12 * BIG


def test_zip64_sizes_and_offsets_past_4_gib(tmp_path: Path) -> None:
    """The real writer lays out a 7 GB clip in a sparse temp file and writes its first
    chunk (its p bytes land past 4 GiB); the headers commit would write are written with
    the CRCs so far. zipfile (what np.load uses) must then find the ZIP64 sizes and
    offsets of the layout and read the members where they were written. Not covered at
    this size: whole-member CRCs (never read to the end here) and the rename."""
    first = make_events(1_000, seed=1)
    writer = EventNpzWriter(tmp_path / "big.npz", BIG)
    try:
        if os.stat(writer.temp_path).st_blocks * 512 > 2**26:
            pytest.skip("the file system does not make sparse files")
        writer.write(0, first)
        writer._write_headers()
        path = writer.temp_path
        assert os.path.getsize(path) == npz_file_size(BIG)
        _check_big_directory(path, first)
        _check_big_members(path, first)
        if shutil.which("unzip"):
            listing = subprocess.run(["unzip", "-l", path], capture_output=True, text=True)
            assert str(128 + 8 * BIG) in listing.stdout
    finally:
        writer.abort()
    assert os.listdir(tmp_path) == []


def _check_big_directory(path: Path, first: Events) -> None:
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    sizes = [128 + BIG * width for width in (2, 2, 8, 1)]
    assert [i.filename for i in infos] == ["x.npy", "y.npy", "t.npy", "p.npy"]
    assert [i.file_size for i in infos] == [i.compress_size for i in infos] == sizes
    offsets = [0]
    for size in sizes:
        offsets.append(offsets[-1] + 30 + 5 + 20 + size)
    assert [i.header_offset for i in infos] == offsets[:4]
    assert infos[2].file_size > 2**32 and infos[3].header_offset > 2**32
    first_crcs = {  # the CRCs so far: npy header + the first chunk
        name: zlib.crc32(getattr(first, name).tobytes(), zlib.crc32(npy_header(name, BIG)))
        for name in ORDER
    }
    assert [i.CRC for i in infos] == [first_crcs[name] for name in ORDER]
    with path.open("rb") as f:  # the classic end record is saturated, the ZIP64 one is real
        f.seek(-22 - 20 - 56, os.SEEK_END)
        tail = f.read()
        directory = struct.unpack_from("<Q", tail, 48)[0]
        assert directory == offsets[4] > 2**32
        assert struct.unpack_from("<I", tail, 56 + 20 + 16)[0] == 0xFFFFFFFF
        f.seek(directory)
        assert f.read(4) == b"PK\x01\x02"


def _check_big_members(path: Path, first: Events) -> None:
    with zipfile.ZipFile(path) as archive:
        for name in ("t", "p"):
            with archive.open(f"{name}.npy") as member:
                assert np.lib.format.read_magic(member) == (1, 0)
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                assert shape == (BIG,) and dtype == getattr(first, name).dtype
                head = member.read(len(first) * dtype.itemsize)
                np.testing.assert_array_equal(np.frombuffer(head, dtype), getattr(first, name))


# ---------------------------------------------------------------------------
# Refusals: nothing half-written under the final name.


def test_chunks_out_of_order_overlapping_or_too_many_are_refused(tmp_path: Path) -> None:
    events, path = make_events(100), tmp_path / "clip.npz"
    writer = EventNpzWriter(path, 100)
    with pytest.raises(ValueError, match="chunk at event 10, expected 0"):
        writer.write(10, events.slice(10, 20))
    writer.write(0, events.slice(0, 40))
    with pytest.raises(ValueError, match="chunk at event 30, expected 40"):
        writer.write(30, events.slice(30, 50))  # overlap
    with pytest.raises(ValueError, match="chunk at event 50, expected 40"):
        writer.write(50, events.slice(50, 60))  # gap
    with pytest.raises(ValueError, match="beyond the 100 events"):
        writer.write(40, Events.concatenate([events.slice(40, 100), events.slice(0, 1)]))
    writer.write(40, events.slice(40, 100))  # refusals wrote nothing
    writer.commit()
    assert path.read_bytes() == event_npz_bytes(events)
    with pytest.raises(RuntimeError, match="committed"):
        writer.write(100, Events.empty())


def test_missing_events_at_commit_leave_no_file(tmp_path: Path) -> None:
    events, path = make_events(50), tmp_path / "clip.npz"
    writer = EventNpzWriter(path, 50)
    writer.write(0, events.slice(0, 47))
    with pytest.raises(ValueError, match="3 of 50 events not written"):
        writer.commit()
    assert not path.exists()
    writer.abort()
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="not written"), EventNpzWriter(path, 50) as w:
        w.write(0, events.slice(0, 10))
    assert os.listdir(tmp_path) == []


def test_a_crash_mid_write_leaves_no_file_and_the_old_one_intact(tmp_path: Path) -> None:
    events, path = make_events(60), tmp_path / "clip.npz"
    path.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), EventNpzWriter(path, 60) as writer:
        writer.write(0, events.slice(0, 30))
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == ["clip.npz"] and path.read_bytes() == b"old"


def test_a_failed_write_fails_the_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events, path = make_events(60), tmp_path / "clip.npz"
    calls = []

    def flaky(fd: int, data: memoryview, offset: int) -> None:
        calls.append(offset)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        os.pwrite(fd, data, offset)

    monkeypatch.setattr(sized_file, "pwrite_all", flaky)
    writer = EventNpzWriter(path, 60)
    with pytest.raises(OSError, match="No space"):
        writer.write(0, events)
    with pytest.raises(RuntimeError, match="failed"):
        writer.commit()
    writer.abort()
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------
# Reading back: load_event_npz and the verify helper.


def test_load_refuses_what_is_not_a_clip(tmp_path: Path) -> None:
    good = make_events(20)
    bad_files = {
        "garbage.npz": (b"not a zip at all", "not a readable .npz"),
        "array.npz": (_saved(np.arange(3)), "single .npy array"),
        "three.npz": (_savez(x=good.x, y=good.y, t=good.t), "members"),
        "dtype.npz": (_savez(x=good.x.astype(np.int32), y=good.y, t=good.t, p=good.p), "int32"),
        "short.npz": (_savez(x=good.x, y=good.y, t=good.t[:-1], p=good.p), "different lengths"),
        "crc.npz": (_flip(event_npz_bytes(good), _data_at(20, "t") + 3), "CRC"),
    }
    for name, (data, problem) in bad_files.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=problem) as caught:
            load_event_npz(tmp_path / name)
        assert name in str(caught.value)


def _saved(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _savez(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x01
    return bytes(out)


def _data_at(n: int, name: str) -> int:
    """Where member ``name``'s first event is in a file of ``n`` events."""
    return next(m.data_offset for m in event_npz._Layout.of(n).members if m.name == name)


def _with(events: Events, name: str, index: int, value: int) -> Events:
    arrays = {k: getattr(events, k).copy() for k in ORDER}
    arrays[name][index] = value
    return Events(**arrays)


def test_npz_problem_names_the_first_thing_wrong(tmp_path: Path) -> None:
    good = make_events(300, seed=2)
    t = good.t.copy()
    t[100] = t[101] + 1
    cases = {
        "garbage": (b"PK not really", 300, "not a zip archive"),
        "crc": (
            _flip(event_npz_bytes(good), _data_at(300, "x")),
            300,
            "Bad CRC-32 for file 'x.npy'",
        ),
        "members": (_savez(x=good.x, y=good.y, t=good.t), 300, "members"),
        "dtype": (_savez(x=good.x, y=good.y, t=good.t.astype("<u8"), p=good.p), 300, "t is uint64"),
        "count": (event_npz_bytes(good), 301, "x holds 300 events, expected 301"),
        "unsorted": (
            event_npz_bytes(Events(good.p, t, good.x, good.y)),
            300,
            r"t\[101\] = \d+ is before t\[100\] = \d+ \(unsorted\)",
        ),
        "late": (event_npz_bytes(_with(good, "t", 299, T1)), 300, rf"t\[299\] = {T1} is outside"),
        "x": (
            event_npz_bytes(_with(good, "x", 7, 640)),
            300,
            r"x\[7\] = 640 is outside \[0, 640\)",
        ),
        "y": (
            event_npz_bytes(_with(good, "y", 0, 480)),
            300,
            r"y\[0\] = 480 is outside \[0, 480\)",
        ),
        "p": (event_npz_bytes(_with(good, "p", 299, 2)), 300, r"p\[299\] = 2 is not 0 or 1"),
        # several problems: the ranking decides (damage, then t, then pixels, then p)
        "x+t": (event_npz_bytes(_with(_with(good, "x", 1, 999), "t", 5, T0 - 1)), 300, "t.5."),
        "crc+p": (
            _flip(event_npz_bytes(_with(good, "p", 0, 9)), _data_at(300, "p") + 9),
            300,
            "CRC",
        ),
    }
    path = tmp_path / "clip.npz"
    path.write_bytes(event_npz_bytes(good))
    assert npz_problem(path, 300, T0, T1) is None
    for case, (data, n, pattern) in cases.items():
        path.write_bytes(data)
        problem = npz_problem(path, n, T0, T1)
        assert problem is not None, case
        assert re.search(pattern, problem), (case, problem)
    assert npz_problem(tmp_path / "absent.npz", 1, T0, T1) is not None
    # a member with a wrong count is still read to its end (zipfile reads ahead 4 kB)
    big = event_npz_bytes(make_events(9_000))
    path.write_bytes(_flip(big, _data_at(9_000, "x") + 2 * 9_000 - 1))  # x's last byte
    assert npz_problem(path, 9_001, T0, T1) == "damaged zip archive (Bad CRC-32 for file 'x.npy')"


def test_npz_problem_reads_in_bounded_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 2_000_000
    events, path = make_events(n, seed=4), tmp_path / "clip.npz"
    stream(path, events, "one")
    monkeypatch.setattr(event_npz_read, "CHECK_CHUNK", 1 << 14)
    tracemalloc.start()
    try:
        assert npz_problem(path, n, T0, T1) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20  # a 30 MB file (16 MB of t) read 128 kB of t at a time
    monkeypatch.setattr(event_npz_read, "CHECK_CHUNK", 7)  # disorder across a chunk border
    small = make_events(50, seed=6)
    t = small.t.copy()
    t[14] = t[13] - 1
    path.write_bytes(event_npz_bytes(Events(small.p, t, small.x, small.y)))
    assert npz_problem(path, 50, T0, T1) == f"t[14] = {t[14]} is before t[13] = {t[13]} (unsorted)"
