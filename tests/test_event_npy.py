"""EventGPT event .npy: streaming writer == in-memory bytes == what numpy loads; safe loader."""

from __future__ import annotations

import io
import itertools
import os
import pickle
import pickletools
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from egpt_dsec.events import EVENT_DTYPES, EVENT_FIELDS, Events
from egpt_dsec.fs import is_temp_name
from egpt_dsec.safe_npy import NpyFormatError, UnsafeNpyError, load_event_npy
from egpt_dsec.writers import event_npy, npy_pickle
from egpt_dsec.writers.event_npy import ClipMetadata, EventNpyWriter, event_npy_bytes
from egpt_dsec.writers.npy_pickle import bytes_opcode, dtype_reduce, npy_object_header, pickle_int

KEY_ORDER = [
    "p",
    "t",
    "x",
    "y",
    "time_start",
    "time_end",
    "duration_ms",
    "image_timestamp",
    "image_idx",
    "image_indices_in_clip",
    "num_events",
]
SIZES = [0, 1, 1000, 100_000]


def make_events(n: int, seed: int = 0) -> Events:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, 16_000_000, n)).astype(np.int64) + 36_607_300_656
    return Events(
        rng.integers(0, 2, n).astype(np.uint8),
        t,
        rng.integers(0, 640, n).astype(np.uint16),
        rng.integers(0, 480, n).astype(np.uint16),
    )


def make_meta(n: int) -> ClipMetadata:
    return ClipMetadata(
        time_start=36_607_300_936,
        time_end=36_608_300_936,
        duration_ms=1000,
        image_timestamp=36_608_300_936,
        image_idx=20,
        image_indices_in_clip=tuple(range(0, 21)),
        num_events=n,
    )


def chunk_bounds(n: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Random chunk boundaries covering [0, n), in shuffled order."""
    cuts = sorted({0, n, *rng.integers(0, n + 1, min(n, 7)).tolist()})
    bounds = list(itertools.pairwise(cuts))
    rng.shuffle(bounds)
    return bounds


def stream_write(path: Path, events: Events, meta: ClipMetadata, seed: int) -> None:
    rng = np.random.default_rng(seed)
    with EventNpyWriter(path, meta) as writer:
        for start, stop in chunk_bounds(len(events), rng):
            writer.write(start, events.slice(start, stop))


def no_temps(folder: Path) -> bool:
    return not any(is_temp_name(p.name) for p in folder.iterdir())


def assert_clip_equal(d: dict[str, Any], events: Events, meta: ClipMetadata) -> None:
    assert list(d) == KEY_ORDER
    for name in EVENT_FIELDS:
        assert d[name].dtype == EVENT_DTYPES[name]
        assert d[name].dtype.byteorder in ("=", "|")
        assert d[name].shape == (len(events),)
        np.testing.assert_array_equal(d[name], getattr(events, name))
    expected = meta.as_dict()
    for key in KEY_ORDER[4:]:
        assert d[key] == expected[key]
        assert type(d[key]) is type(expected[key])


# --- the file: streaming == in memory == loadable by numpy and by the safe loader


@pytest.mark.parametrize("n", SIZES)
def test_streaming_matches_bytes_in_any_chunk_order(tmp_path: Path, n: int) -> None:
    events, meta = make_events(n), make_meta(n)
    expected = event_npy_bytes(events, meta)
    for seed in (1, 2):
        path = tmp_path / f"clip{seed}.npy"
        stream_write(path, events, meta, seed)
        assert path.read_bytes() == expected
    assert no_temps(tmp_path)


@pytest.mark.parametrize("n", SIZES)
def test_numpy_and_safe_loader_read_it_without_warnings(tmp_path: Path, n: int) -> None:
    events, meta = make_events(n), make_meta(n)
    path = tmp_path / "clip.npy"
    stream_write(path, events, meta, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = np.array(np.load(path, allow_pickle=True)).item()
        safe = load_event_npy(path)
    assert_clip_equal(loaded, events, meta)
    assert_clip_equal(safe, events, meta)


def test_loading_in_python_w_error(tmp_path: Path) -> None:
    """The real `python -W error` check: numpy.core.multiarray must not warn under numpy 2."""
    path = tmp_path / "clip.npy"
    path.write_bytes(event_npy_bytes(make_events(10), make_meta(10)))
    code = (
        "import sys, numpy as np; "
        "d = np.array(np.load(sys.argv[1], allow_pickle=True)).item(); "
        "assert d['num_events'] == 10 and len(d['t']) == 10"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code, str(path)], check=True)


def _pickle_part(data: bytes) -> bytes:
    fp = io.BytesIO(data)
    np.lib.format.read_magic(fp)
    np.lib.format.read_array_header_1_0(fp)
    return data[fp.tell() :]


def test_pickle_names_only_numpy1_globals_and_has_no_memo() -> None:
    ops = list(pickletools.genops(_pickle_part(event_npy_bytes(make_events(5), make_meta(5)))))
    names = {op.name for op, _, _ in ops}
    assert not names & {"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE", "GET", "BINGET", "LONG_BINGET"}
    assert "FRAME" not in names
    assert ops[0][0].name == "PROTO" and ops[0][1] == 4
    globals_ = {arg for op, arg, _ in ops if op.name == "GLOBAL"}
    assert globals_ == {"numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"}


def _normalized_ops(pickled: bytes) -> list[tuple[str, Any]]:
    """Opcode stream modulo encoding choices: memo, string/bytes widths, numpy module name."""
    rename = {
        "SHORT_BINUNICODE": "BINUNICODE",
        "SHORT_BINBYTES": "BINBYTES",
        "BINBYTES8": "BINBYTES",
    }
    out = []
    for op, arg, _ in pickletools.genops(pickled):
        if op.name in ("PROTO", "BINPUT", "LONG_BINPUT", "MEMOIZE", "FRAME"):
            continue
        if isinstance(arg, str):
            arg = arg.replace("numpy._core.", "numpy.core.")
        out.append((rename.get(op.name, op.name), arg))
    return out


def _inline_memo(pickled: bytes) -> bytes:
    """Re-pickle numpy's output with memo off (fast mode), so BINGETs become inline copies."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=3)
    pickler.fast = True
    pickler.dump(pickle.loads(pickled))
    return buf.getvalue()


@pytest.mark.parametrize("n", [0, 3, 300])
def test_opcodes_mirror_numpys_own_reduce(n: int) -> None:
    events, meta = make_events(n), make_meta(n)
    obj = np.array({**events.as_dict(), **meta.as_dict()}, dtype=object)
    numpys = _inline_memo(pickle.dumps(obj, protocol=3))
    ours = _pickle_part(event_npy_bytes(events, meta))
    assert _normalized_ops(ours) == _normalized_ops(numpys)


def test_header_matches_np_save() -> None:
    buf = io.BytesIO()
    np.save(buf, np.array({"a": 1}, dtype=object), allow_pickle=True)
    header = npy_object_header()
    assert buf.getvalue()[: len(header)] == header
    assert len(header) % 64 == 0


def test_pinned_dtype_reduce_matches_numpy() -> None:
    for dtype in EVENT_DTYPES.values():
        reduced: Any = dtype.newbyteorder("<").__reduce__()
        assert dtype_reduce(dtype) == reduced[1:]
    reduced = np.dtype(object).__reduce__()
    assert reduced[1:] == npy_pickle.OBJECT_DTYPE_REDUCE


# --- opcode helpers


@pytest.mark.parametrize(
    "value",
    [0, 1, 255, 256, 65535, 65536, -1, -128, -129, 2**31 - 1, -(2**31), 2**31, -(2**31) - 1,
     36_607_300_936, -36_607_300_936, 2**63, -(2**63), 2**64 - 1, 2**2100, -(2**2100)],
)  # fmt: skip
def test_pickle_int_matches_pickle(value: int) -> None:
    assert pickle_int(value) == pickle.dumps(value, protocol=3)[2:-1]


def test_bytes_opcode_choice() -> None:
    assert bytes_opcode(0) == pickle.BINBYTES + b"\0\0\0\0"
    assert bytes_opcode(2**32 - 1) == pickle.BINBYTES + b"\xff\xff\xff\xff"
    assert bytes_opcode(2**32) == pickle.BINBYTES8 + (2**32).to_bytes(8, "little")
    assert bytes_opcode(5 * 2**30)[:1] == pickle.BINBYTES8
    with pytest.raises(ValueError):
        bytes_opcode(-1)


@pytest.mark.parametrize("n", [0, 1, 1000])
def test_binbytes8_path_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    monkeypatch.setattr(npy_pickle, "BINBYTES8_THRESHOLD", 0)
    events, meta = make_events(n), make_meta(n)
    path = tmp_path / "clip.npy"
    stream_write(path, events, meta, seed=4)
    data = path.read_bytes()
    assert data == event_npy_bytes(events, meta)
    names = [op.name for op, _, _ in pickletools.genops(_pickle_part(data))]
    assert names.count("BINBYTES8") == 4 and "BINBYTES" not in names
    assert_clip_equal(np.array(np.load(path, allow_pickle=True)).item(), events, meta)
    assert_clip_equal(load_event_npy(path), events, meta)


# --- writer contract: exactly-once coverage, atomic publish, no leftovers


def test_overlapping_write_is_rejected(tmp_path: Path) -> None:
    events = make_events(100)
    path = tmp_path / "clip.npy"
    with pytest.raises(ValueError, match="overlap"), EventNpyWriter(path, make_meta(100)) as w:
        w.write(0, events.slice(0, 50))
        w.write(49, events.slice(49, 60))
    assert not path.exists() and no_temps(tmp_path)


def test_overlap_then_complete_still_commits(tmp_path: Path) -> None:
    events, meta = make_events(100), make_meta(100)
    path = tmp_path / "clip.npy"
    with EventNpyWriter(path, meta) as w:
        w.write(50, events.slice(50, 100))
        with pytest.raises(ValueError, match="overlap"):
            w.write(40, events.slice(40, 60))
        w.write(0, events.slice(0, 50))
    assert path.read_bytes() == event_npy_bytes(events, meta)


@pytest.mark.parametrize(("offset", "count"), [(-1, 5), (96, 5), (101, 0)])
def test_out_of_range_write_is_rejected(tmp_path: Path, offset: int, count: int) -> None:
    path = tmp_path / "clip.npy"
    with pytest.raises(ValueError, match="out of range"), EventNpyWriter(path, make_meta(100)) as w:
        w.write(offset, make_events(count))
    assert not path.exists() and no_temps(tmp_path)


def test_missing_events_fail_commit(tmp_path: Path) -> None:
    events = make_events(100)
    path = tmp_path / "clip.npy"
    missing = r"10 of 100 events not written.*\(40, 50\)"
    with pytest.raises(ValueError, match=missing), EventNpyWriter(path, make_meta(100)) as w:
        w.write(0, events.slice(0, 40))
        w.write(50, events.slice(50, 100))
    assert not path.exists() and no_temps(tmp_path)


def test_explicit_commit_failure_keeps_writer_open_then_abort(tmp_path: Path) -> None:
    path = tmp_path / "clip.npy"
    w = EventNpyWriter(path, make_meta(10))
    assert w.temp_path.exists()
    with pytest.raises(ValueError, match="not written"):
        w.commit()
    w.write(0, make_events(10))
    w.abort()
    w.abort()
    assert not path.exists() and no_temps(tmp_path)
    with pytest.raises(RuntimeError):
        w.write(0, make_events(1))


def test_exception_in_block_aborts(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "clip.npy"
    with pytest.raises(KeyError), EventNpyWriter(path, make_meta(10)) as w:
        w.write(0, make_events(10))
        raise KeyError("boom")
    assert not path.exists() and no_temps(path.parent)


def test_commit_replaces_existing_and_writer_is_closed(tmp_path: Path) -> None:
    path = tmp_path / "clip.npy"
    path.write_bytes(b"old")
    events, meta = make_events(10), make_meta(10)
    w = EventNpyWriter(path, meta)
    w.write(0, events)
    w.commit()
    assert path.read_bytes() == event_npy_bytes(events, meta)
    w.abort()  # no-op after commit
    assert path.exists()
    with pytest.raises(RuntimeError, match="committed"):
        w.write(0, events)


def test_metadata_normalizes_and_checks() -> None:
    meta = ClipMetadata(
        np.int64(1), np.int64(2), 1000, np.uint64(2), np.int32(3), (np.int64(4),), np.int64(0)
    )
    d = meta.as_dict()
    assert list(d) == KEY_ORDER[4:]
    assert all(type(v) is int for k, v in d.items() if k != "image_indices_in_clip")
    assert d["image_indices_in_clip"] == [4] and type(d["image_indices_in_clip"][0]) is int
    with pytest.raises(TypeError):
        ClipMetadata(1.5, 2, 3, 4, 5, (), 0)
    with pytest.raises(ValueError):
        ClipMetadata(1, 2, 3, 4, 5, (), -1)
    with pytest.raises(ValueError, match="metadata says"):
        event_npy_bytes(make_events(3), make_meta(4))


def test_coverage_merges_and_reports_gaps() -> None:
    cov = event_npy._Coverage(20)
    for start, stop in [(5, 8), (10, 12), (8, 10), (0, 2), (19, 20)]:
        cov.add(start, stop)
    assert cov._ranges == [[0, 2], [5, 12], [19, 20]]
    assert cov.gaps() == [(2, 5), (12, 19)] and cov.covered == 10
    cov.add(2, 5)
    cov.add(12, 19)
    assert cov.complete() and cov._ranges == [[0, 20]]


# --- safe loader


def test_safe_loader_reads_np_save_files_with_numpy_scalars(tmp_path: Path) -> None:
    events = make_events(50)
    d = {**events.as_dict(), "time_start": np.int64(5), "image_indices_in_clip": [1, 2]}
    path = tmp_path / "np_save.npy"
    np.save(path, np.array(d, dtype=object), allow_pickle=True)
    loaded = load_event_npy(path)
    assert list(loaded) == list(d)
    np.testing.assert_array_equal(loaded["t"], events.t)
    assert loaded["time_start"] == 5 and isinstance(loaded["time_start"], np.int64)


class _Evil:
    def __init__(self, func: Any, arg: str) -> None:
        self.func, self.arg = func, arg

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return self.func, (self.arg,)


def _evil_payloads(marker: Path) -> dict[str, bytes]:
    touch = f"open({str(marker)!r}, 'w').close()"
    return {
        "os.system": pickle.dumps(_Evil(os.system, f"touch '{marker}'"), protocol=2),
        "builtins.eval": pickle.dumps(_Evil(eval, touch), protocol=4),
        "text GLOBAL": f"cbuiltins\nexec\n(V{touch}\ntR.".encode(),
        "nested in a dict": pickle.dumps(
            np.array({"p": np.zeros(1, np.uint8), "x": _Evil(eval, touch)}, dtype=object),
            protocol=3,
        ),
    }


@pytest.mark.parametrize("kind", ["os.system", "builtins.eval", "text GLOBAL", "nested in a dict"])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path: Path, kind: str) -> None:
    marker = tmp_path / "pwned"
    payload = _evil_payloads(marker)[kind]
    path = tmp_path / "evil.npy"
    path.write_bytes(npy_object_header() + payload)
    with pytest.raises(UnsafeNpyError, match=r"evil\.npy.*refused pickle global") as info:
        load_event_npy(path)
    assert info.value.global_name.split(".")[-1] in ("system", "eval", "exec")
    assert not marker.exists()
    pickle.loads(payload)  # the payload is live: unrestricted unpickling does run it
    assert marker.exists()


def test_truncated_files_give_clear_errors(tmp_path: Path) -> None:
    data = event_npy_bytes(make_events(100), make_meta(100))
    header_len = len(npy_object_header())
    for cut in (0, 5, header_len - 10, header_len + 1, header_len + 200, len(data) - 1):
        path = tmp_path / f"cut{cut}.npy"
        path.write_bytes(data[:cut])
        with pytest.raises(NpyFormatError, match=rf"cut{cut}\.npy: "):
            load_event_npy(path)


def test_wrong_content_gives_clear_errors(tmp_path: Path) -> None:
    good = event_npy_bytes(make_events(3), make_meta(3))
    cases: dict[str, bytes] = {"trailing": good + b"\0", "not_npy": b"hello world, not an npy"}
    for name, obj in {
        "int_array": np.arange(3),
        "object_1d": np.array([{"a": 1}, None], dtype=object),
        "object_list": np.array(None, dtype=object),
    }.items():
        buf = io.BytesIO()
        np.save(buf, obj, allow_pickle=True)
        cases[name] = buf.getvalue()
    messages = {
        "trailing": "after the pickle",
        "not_npy": "bad .npy header",
        "int_array": "expected a 0-d object array",
        "object_1d": "expected a 0-d object array",
        "object_list": "not a dict",
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.npy"
        path.write_bytes(data)
        with pytest.raises(NpyFormatError, match=messages[name]) as info:
            load_event_npy(path)
        assert info.value.path == path
