"""Nothing is ever half-written under its final name: write a temp sibling, then rename."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

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


def atomic_write_bytes(final: Path, data: bytes) -> None:
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)


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
