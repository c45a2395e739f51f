"""File-system primitives below everything that writes.

Nothing is ever half-written under its final name: a file is written as a hidden
temp sibling, then renamed over the final name. Outputs stay inside OUT: a symlink
planted in the output tree is refused, not written through.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

TEMP_MARK = ".tmp-"
_counter = itertools.count()


def temp_path_for(final: Path) -> Path:
    """A hidden sibling of ``final``, unique per process, on the same file system."""
    return final.parent / f".{final.name}{TEMP_MARK}{os.getpid()}-{next(_counter)}"


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and TEMP_MARK in name


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temp path to fill; on success it replaces ``final``, on error it is removed."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(final)
    try:
        yield tmp
        if tmp.is_dir() and final.is_dir():
            shutil.rmtree(final)  # a directory cannot be replaced over a non-empty one
        os.replace(tmp, final)
    except BaseException:
        remove_path(tmp)
        raise


def atomic_write_bytes(final: Path, data: bytes, durable: bool = False) -> None:
    """``final`` holds ``data`` or its old content, never a mix; ``durable`` also fsyncs
    the data before the rename (it survives a power cut, not just a kill)."""
    with atomic_path(final) as tmp, tmp.open("wb") as handle:
        handle.write(data)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())


def write_if_changed(final: Path, data: bytes) -> bool:
    """Atomically write ``data`` unless ``final`` already holds exactly it (a re-run then
    leaves the file and its time stamps alone); True if written."""
    try:
        if final.stat().st_size == len(data) and final.read_bytes() == data:
            return False
    except OSError:
        pass
    atomic_write_bytes(final, data)
    return True


def open_for_append(path: Path) -> IO[bytes]:
    """A JSON-lines file opened for appending; after a line cut by a crash, start a new one
    so the cut line stays alone (and is skipped by :func:`read_json_lines`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("ab")
    size = path.stat().st_size
    if size:
        with path.open("rb") as f:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                handle.write(b"\n")
    return handle


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """Every complete JSON object line of ``path`` ([] if it does not exist), parsed in one
    go (100,000 lines in well under a second); a last line cut by a crash is dropped."""
    try:
        lines = path.read_bytes().split(b"\n")[:-1]
    except FileNotFoundError:
        return []
    try:
        rows = json.loads(b"[" + b",".join(line for line in lines if line.strip()) + b"]")
        if all(isinstance(row, dict) for row in rows):
            return list(rows)
    except ValueError:
        pass
    return [row for row in map(_parse_line, lines) if row is not None]


def _parse_line(line: bytes) -> dict[str, Any] | None:
    try:
        row = json.loads(line)
    except ValueError:
        return None
    return row if isinstance(row, dict) else None


def remove_path(path: Path) -> None:
    """Remove a file, link or folder if present; never fails on a missing path."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def remove_stale_temps(folder: Path) -> int:
    """Delete temp files a crashed run left in ``folder``; returns how many."""
    if not folder.is_dir():
        return 0
    removed = 0
    for entry in os.scandir(folder):
        if is_temp_name(entry.name):
            remove_path(Path(entry.path))
            removed += 1
    return removed


class UnsafeOutputPath(ValueError):
    """An output path that would resolve outside the output root."""

    def __init__(self, root: Path, path: Path, resolved: Path) -> None:
        self.root = root
        self.path = path
        self.resolved = resolved
        super().__init__(
            f"{path}: output path resolves to {resolved}, outside the output folder {root} "
            f"(a symlink in the output tree?). Remove the link or folder and re-run"
        )


def ensure_inside(root: Path, path: Path) -> None:
    """Raise :class:`UnsafeOutputPath` unless ``path``, with every symlink resolved, is in ``root``.

    ``path`` need not exist yet: its existing leading part is resolved, the rest is taken
    as written (``..`` in it is resolved too, so ``root/a/../../x`` is refused). ``root``
    itself may be a symlink (e.g. to a bigger disk); only what lies below it is judged.
    Names are checked at discovery (``source.discover.check_safe_name``); this guards the
    other way out, an existing folder or link under OUT that resolves somewhere else.
    """
    real_root = Path(os.path.realpath(root))
    resolved = Path(os.path.realpath(path))
    if resolved != real_root and real_root not in resolved.parents:
        raise UnsafeOutputPath(root, path, resolved)


_ADVISE = getattr(os, "posix_fadvise", None)  # not on macOS or Windows: then a no-op


class WriteBehind:
    """Streams a large write-once file to the disk instead of piling it up in memory.

    Each range written is handed to the disk at once (``POSIX_FADV_DONTNEED`` starts the
    write-back of dirty pages) and dropped from the page cache ``lag`` writes later, when
    it is on its way. Without it the page cache grows by every byte written: each fresh
    page costs an allocation (5-10x slower writes on this project's VMs, measured by
    ``benchmarks/bench_codecs.py``), the dirty pages pile up until the kernel
    stalls the writer, and the other caches of the machine are evicted.
    """

    def __init__(self, fd: int, lag: int = 8) -> None:
        self.fd, self.lag = fd, lag
        self._ranges: list[tuple[int, int]] = []

    def wrote(self, offset: int, length: int) -> None:
        if _ADVISE is None or length <= 0:
            return
        _ADVISE(self.fd, offset, length, os.POSIX_FADV_DONTNEED)
        self._ranges.append((offset, length))
        if len(self._ranges) > self.lag:
            start, size = self._ranges.pop(0)
            _ADVISE(self.fd, start, size, os.POSIX_FADV_DONTNEED)

    def finish(self) -> None:
        """Drop whatever of the file is written back by now; the rest leaves the cache later."""
        if _ADVISE is not None:
            _ADVISE(self.fd, 0, 0, os.POSIX_FADV_DONTNEED)
        self._ranges.clear()


def le_bytes(arr: np.ndarray) -> memoryview:
    """The array's data as contiguous little-endian bytes (no copy when already so)."""
    le = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
    return le.data.cast("B")


def pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    """pwrite may write less than asked (e.g. >2 GiB on Linux): loop until done."""
    while data:
        written = os.pwrite(fd, data, offset)
        data = data[written:]
        offset += written
