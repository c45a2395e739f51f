"""``egpt-dsec verify``: re-check every finished output against the manifest (and DSEC).

The manifest says which files were complete when written; verify checks they still
are (disk faults, copies cut short, hand edits, files dropped in from elsewhere)
without trusting them: event files are loaded with the restricted unpickler, images
and videos are fully decoded. It walks one clip at a time, so memory holds at most
one clip's events per worker. ``fix_output`` forgets the affected clips and deletes
their bad files, so the next build with the same options redoes only those clips.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from egpt_dsec.reports.verify.fix import fix_output
    from egpt_dsec.reports.verify.report import ClipId, Problem, VerifyReport, format_verify
    from egpt_dsec.reports.verify.run import count_clips, verify_output

# Loaded on first use, so building the CLI parser does not import PyAV, h5py and numba.
_HOME = {
    "fix_output": "fix",
    "ClipId": "report",
    "Problem": "report",
    "VerifyReport": "report",
    "format_verify": "report",
    "count_clips": "run",
    "verify_output": "run",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)


__all__ = [
    "ClipId",
    "Problem",
    "VerifyReport",
    "count_clips",
    "fix_output",
    "format_verify",
    "verify_output",
]
