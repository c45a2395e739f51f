"""Leftover temp files (``writers.atomic`` names): a crashed or running build left them."""

from __future__ import annotations

import os
from pathlib import Path

from egpt_dsec.layout import STATE_DIR
from egpt_dsec.reports.verify.report import Problem
from egpt_dsec.writers.atomic import is_temp_name


def temp_problems(out: Path) -> tuple[list[Problem], int]:
    """Temp names anywhere in the output, and how many folders were scanned.

    Clip frame folders are not entered: the video check lists those itself.
    """
    problems = []
    folders = 0
    for folder, dirs, files in os.walk(out):
        folders += 1
        here = Path(folder)
        rel = here.relative_to(out).parts  # split, duration, component, sequence
        problems += [_temp_problem(out, here / name) for name in dirs + files if is_temp_name(name)]
        dirs[:] = sorted(
            d for d in dirs if not is_temp_name(d) and not (len(rel) == 4 and rel[2] == "video")
        )
    return problems, folders


def _temp_problem(out: Path, path: Path) -> Problem:
    """Owned by no clip, but placed by split, duration and sequence when it is in one."""
    parts = path.relative_to(out).parts
    split = duration = sequence = ""
    if parts[0] != STATE_DIR:
        split = parts[0] if len(parts) > 1 else ""
        duration = parts[1] if len(parts) > 2 else ""
        sequence = parts[3] if len(parts) > 4 else ""
    return Problem(path, "temp", split, sequence, duration, -1, "leftover temp file")
