"""``egpt-dsec preview``: a static HTML gallery of a built dataset."""

from egpt_dsec.reports.preview.command import add_preview_arguments as add_arguments
from egpt_dsec.reports.preview.command import run_preview as run

__all__ = ["add_arguments", "run"]
