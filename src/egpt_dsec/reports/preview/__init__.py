"""``egpt-dsec preview --out OUT``: a static HTML gallery of a built dataset.

The CLI wires :func:`add_preview_arguments` into a ``preview`` sub-command and calls
:func:`run_preview`; ``python -m egpt_dsec.reports.preview`` runs it stand-alone.
"""

from __future__ import annotations

from egpt_dsec.reports.preview.command import add_preview_arguments, run_preview

__all__ = ["add_preview_arguments", "run_preview"]
