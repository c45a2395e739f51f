"""``egpt-dsec annotate``: the answers step (see ``egpt_dsec.annotate``)."""

from egpt_dsec.annotate.cli import add_annotate_arguments as add_arguments
from egpt_dsec.annotate.cli import run_annotate as run

__all__ = ["add_arguments", "run"]
