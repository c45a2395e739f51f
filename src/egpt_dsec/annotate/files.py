"""Small file helpers: atomic replace, durable append, and reading cut JSON lines."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import IO, Any

_counter = itertools.count()


def atomic_write_bytes(final: Path, data: bytes) -> None:
    """Write a hidden temp sibling, fsync it, then ``os.replace``: never half a file."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}-{next(_counter)}"
    try:
        with tmp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def open_for_append(path: Path) -> IO[bytes]:
    """Open a JSON-lines file for appending; after a cut last line, start a fresh line."""
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
    """Every complete JSON object line; a line cut by a crash (or garbage) is skipped."""
    try:
        lines = path.read_bytes().split(b"\n")
    except FileNotFoundError:
        return []
    try:
        rows = json.loads(b"[" + b",".join(line for line in lines[:-1] if line.strip()) + b"]")
        if all(isinstance(row, dict) for row in rows):
            return list(rows)
    except ValueError:
        pass
    return [row for row in map(_parse, lines[:-1]) if row is not None]


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        row = json.loads(line)
    except ValueError:
        return None
    return row if isinstance(row, dict) else None
