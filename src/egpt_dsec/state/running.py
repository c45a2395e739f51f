"""Which work units are being built now: one marker file per running job."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from egpt_dsec.layout.state import StateLayout


def mark_running(state: StateLayout, split: str, sequence: str, unit: str = "") -> Path:
    """Write the job's marker (pid and host); the caller unlinks it when the job ends."""
    path = state.running_marker(split, sequence, unit)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    return path


def running(state: StateLayout) -> list[str]:
    """``split/unit`` of jobs marked running whose process is still alive."""
    found = []
    for name, path in state.running_markers():
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if info.get("host") == socket.gethostname() and not _pid_alive(int(info["pid"])):
            continue
        found.append(name)
    return found


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
