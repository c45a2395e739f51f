"""Reading back a clip's event ``.npz`` (``writers.event_npz``), without pickle.

``load_event_npz`` is for loaders (the clip fits in memory); ``npz_problem`` is for
``verify``: it reads every member to its end through ``zipfile`` in bounded chunks,
so a 5 GB clip is CRC-checked and range-checked without ever sitting in memory.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO

import numpy as np

from egpt_dsec.events import SENSOR_HEIGHT, SENSOR_WIDTH, Events
from egpt_dsec.writers.event_npz import MEMBER_DTYPES, MEMBERS

MEMBER_FILES = tuple(f"{name}.npy" for name in MEMBERS)
CHECK_CHUNK = 1 << 22  # events per read in npz_problem: bounds its memory (32 MB of t)
# Ranks of problems: npz_problem reports the lowest first, whatever member it is in.
_HEADER, _DTYPE, _COUNT, _TIME, _PIXEL, _POLARITY = range(6)
_READ_ERRORS = (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError)

Found = list[tuple[int, str]]


def load_event_npz(path: Path) -> Events:
    """The events of an ``.npz`` holding exactly ``x``, ``y``, ``t``, ``p`` (1-d, our dtypes,
    equal lengths), loaded with ``allow_pickle=False``. ValueError naming the file and
    the problem otherwise (OSError if it cannot be opened)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, *_READ_ERRORS) as exc:
        raise ValueError(f"{path}: not a readable .npz ({exc})") from exc
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: a single .npy array, not a .npz archive")
    with loaded:
        if sorted(loaded.files) != sorted(MEMBERS) or len(loaded.files) != len(MEMBERS):
            raise ValueError(f"{path}: members {loaded.files}, expected {list(MEMBERS)}")
        try:
            arrays = {name: loaded[name] for name in MEMBERS}
        except (ValueError, *_READ_ERRORS) as exc:
            raise ValueError(f"{path}: a member cannot be read ({exc})") from exc
    for name, arr in arrays.items():
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype != MEMBER_DTYPES[name]:
            what = f"{getattr(arr, 'dtype', type(arr).__name__)} {getattr(arr, 'shape', '')}"
            raise ValueError(
                f"{path}: {name} is {what.strip()}, expected 1-d {MEMBER_DTYPES[name]}"
            )
    lengths = {name: len(arr) for name, arr in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"{path}: members of different lengths {lengths}")
    native = {
        name: arr.astype(arr.dtype.newbyteorder("="), copy=False) for name, arr in arrays.items()
    }
    return Events(**native)


def npz_problem(path: Path, num_events: int, t0: int, t1: int) -> str | None:
    """The first thing wrong with a clip's event ``.npz``, or None. In this order: not a
    zip, a bad CRC (or other damage), wrong members, dtypes, count, ``t`` unsorted or
    outside ``[t0, t1)``, ``x``/``y`` off the 640x480 sensor, ``p`` not 0 or 1."""
    try:
        archive = zipfile.ZipFile(path)
    except (*_READ_ERRORS, ValueError) as exc:
        return f"not a zip archive ({exc})"
    except OSError as exc:
        return f"cannot be read ({exc})"
    found: Found = []
    with archive:
        listed = archive.namelist()
        if sorted(listed) != sorted(MEMBER_FILES) or len(listed) != len(MEMBER_FILES):
            return f"members {listed}, expected {list(MEMBER_FILES)}"
        try:
            for name in MEMBERS:
                with archive.open(f"{name}.npy") as member:
                    found += _member_problems(member, name, num_events, (t0, t1))
        except _READ_ERRORS as exc:  # zipfile checks a member's CRC when it reaches its end
            return f"damaged zip archive ({exc})"
        except OSError as exc:
            return f"cannot be read ({exc})"
    found.sort(key=lambda rank_text: rank_text[0])
    return found[0][1] if found else None


def _member_problems(member: IO[bytes], name: str, n: int, window: tuple[int, int]) -> Found:
    """Problems of one member, which is read to its end whatever is found."""
    try:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    except ValueError as exc:
        found: Found = [(_HEADER, f"{name}.npy is not an npy array ({exc})")]
    else:
        if dtype != MEMBER_DTYPES[name] or len(shape) != 1:
            found = [(_DTYPE, f"{name} is {dtype} {shape}, expected 1-d {MEMBER_DTYPES[name]}")]
        elif shape[0] != n:
            found = [(_COUNT, f"{name} holds {shape[0]} events, expected {n}")]
        else:
            found = _values_problems(member, name, n, window)
            if member.read(1):
                found.append((_COUNT, f"{name}.npy has bytes after its {n} events"))
    while member.read(1 << 20):
        pass
    return found


def _values_problems(member: IO[bytes], name: str, n: int, window: tuple[int, int]) -> Found:
    """The first bad value of the member's ``n`` events, read in chunks (all of them)."""
    dtype = MEMBER_DTYPES[name]
    found: Found = []
    done, last = 0, None
    while done < n:
        buf = member.read(min(CHECK_CHUNK, n - done) * dtype.itemsize)
        values = np.frombuffer(buf, dtype, len(buf) // dtype.itemsize)
        if len(values) == 0:
            return [(_COUNT, f"{name}.npy ends after {done} of {n} events")]
        problem = None if found else _chunk_problem(name, values, done, last, window)
        if problem is not None:
            found.append(problem)
        done, last = done + len(values), int(values[-1])
    return found


def _chunk_problem(
    name: str, values: np.ndarray, start: int, last: int | None, window: tuple[int, int]
) -> tuple[int, str] | None:
    """The first bad value of events ``[start, start + len(values))`` of member ``name``."""
    if name == "t":
        if last is not None and values[0] < last:
            return _TIME, _unsorted(start, values[0], last)
        back = np.flatnonzero(np.diff(values) < 0)
        if len(back):
            i = int(back[0]) + 1
            return _TIME, _unsorted(start + i, values[i], values[i - 1])
        bad = np.flatnonzero((values < window[0]) | (values >= window[1]))
        rank, what = _TIME, f"outside [{window[0]}, {window[1]})"
    elif name == "p":
        bad = np.flatnonzero(values > 1)
        rank, what = _POLARITY, "not 0 or 1"
    else:
        limit = SENSOR_WIDTH if name == "x" else SENSOR_HEIGHT
        bad = np.flatnonzero(values >= limit)
        rank, what = _PIXEL, f"outside [0, {limit})"
    if len(bad):
        return rank, f"{name}[{start + int(bad[0])}] = {values[bad[0]]} is {what}"
    return None


def _unsorted(index: int, value: int, before: int) -> str:
    return f"t[{index}] = {value} is before t[{index - 1}] = {before} (unsorted)"
