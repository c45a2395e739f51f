"""``egpt-dsec verify``: re-check every finished output against the manifest (and DSEC).

The manifest says which files were complete when written; verify checks they still
are (disk faults, copies cut short, hand edits, files dropped in from elsewhere)
without trusting them: event files are loaded with the restricted unpickler, images
and videos are fully decoded. It walks one clip at a time, so memory holds at most
one clip's events per worker. ``fix_output`` forgets the affected clips and deletes
their bad files, so the next build with the same options redoes only those clips.
"""

from egpt_dsec.reports.verify.arguments import add_verify_arguments
from egpt_dsec.reports.verify.fix import fix_output
from egpt_dsec.reports.verify.report import ClipId, Problem, VerifyReport, format_verify
from egpt_dsec.reports.verify.run import count_clips, verify_output

__all__ = [
    "ClipId",
    "Problem",
    "VerifyReport",
    "add_verify_arguments",
    "count_clips",
    "fix_output",
    "format_verify",
    "verify_output",
]
