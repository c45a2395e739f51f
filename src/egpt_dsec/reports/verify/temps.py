"""Leftover temp files (``fs`` temp names): a crashed or running build left them."""

from __future__ import annotations

import os
from pathlib import Path

from egpt_dsec.fs import is_temp_name
from egpt_dsec.kinds import FILE_KINDS
from egpt_dsec.layout.output import OutputLayout
from egpt_dsec.reports.verify.report import TEMP, Problem


def temp_problems(layout: OutputLayout) -> tuple[list[Problem], int]:
    """Temp names anywhere in the output, and how many folders were scanned.

    Clip frame folders are not entered: the video check lists those itself.
    """
    problems = []
    folders = 0
    held = frozenset(kind.name for kind in FILE_KINDS if kind.clip_folders)
    for folder, dirs, files in os.walk(layout.root):
        folders += 1
        here = Path(folder)
        problems += [_temp_problem(layout, here / n) for n in dirs + files if is_temp_name(n)]
        dirs[:] = sorted(
            d for d in dirs if not is_temp_name(d) and not layout.is_clip_folder(here / d, held)
        )
    return problems, folders


def _temp_problem(layout: OutputLayout, path: Path) -> Problem:
    """Owned by no clip, but placed by split, duration and sequence when it is in one."""
    at = layout.locate(path)
    return Problem(path, TEMP, at.split, at.sequence, at.duration, -1, "leftover temp file")
