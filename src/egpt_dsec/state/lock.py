"""One build per output folder at a time.

An advisory ``flock`` on the state folder's lock file: the kernel releases it when
the holder dies, however it dies, so a crashed build never leaves it stuck.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator

from egpt_dsec.layout.state import StateLayout


class OutputLockedError(RuntimeError):
    """Another build is writing the same output folder."""


@contextlib.contextmanager
def output_lock(state: StateLayout) -> Iterator[None]:
    state.root.mkdir(parents=True, exist_ok=True)
    handle = state.lock_file.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise _locked(state, handle.read()) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
        handle.flush()
        yield
    finally:
        handle.close()


def check_unlocked(state: StateLayout) -> None:
    """Raise OutputLockedError if another process holds the output's lock; creates
    nothing and keeps nothing (a preflight: the build takes the lock itself later)."""
    try:
        handle = state.lock_file.open("r")
    except (FileNotFoundError, NotADirectoryError):
        return  # never locked: no build has run here yet
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _locked(state, handle.read()) from None
        fcntl.flock(handle, fcntl.LOCK_UN)


def _locked(state: StateLayout, holder: str) -> OutputLockedError:
    return OutputLockedError(
        f"another build is writing {state.out} (holder: {holder.strip() or 'unknown'}); "
        "wait for it to finish or stop it, then re-run"
    )
