"""Answers for every clip from a VLM behind an OpenAI-compatible chat-completions API.

The server is the distributed engine; this package is the resumable, concurrent,
honest client: ``annotate`` (library), ``run_annotate`` / ``add_annotate_arguments``
(CLI), ``annotation_status`` (for ``egpt-dsec status``).
"""

from __future__ import annotations

from egpt_dsec.annotate.cli import add_annotate_arguments, run_annotate
from egpt_dsec.annotate.run import AnnotateConfig, AnnotateReport, annotate
from egpt_dsec.reports.answer_counts import AnswerCounts, annotation_status

__all__ = [
    "AnnotateConfig",
    "AnnotateReport",
    "AnswerCounts",
    "add_annotate_arguments",
    "annotate",
    "annotation_status",
    "run_annotate",
]
