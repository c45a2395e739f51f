"""Errors a user can fix, each one line that names the file or option and the fix."""

from __future__ import annotations


class AnnotateError(Exception):
    """Bad input or a refused run: the CLI prints the message alone, never a traceback."""
