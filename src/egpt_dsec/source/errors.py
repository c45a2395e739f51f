"""Input problems reported to the user: which file, what is wrong, what to do."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """A DSEC input file is missing or malformed; the build skips the sequence."""

    def __init__(self, path: Path | str, problem: str, fix: str) -> None:
        self.path = Path(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{path}: {problem}. {fix}")
