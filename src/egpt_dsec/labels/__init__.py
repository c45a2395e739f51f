"""Questions with checkable answers, from DSEC-Detection's labelled object boxes (pure).

A sequence's boxes (:class:`Tracks`, in the view of the build's event images) and a clip
window ``[t0, t1)`` give the clip's questions, answers and evidence (``questions``),
each task by one exact definition (``tasks``, written out in the README); a short list
of the clip's labelled objects (``facts``); and the score of a model's multiple-choice
predictions (``score``). Nothing here reads a file.
"""

from __future__ import annotations

from egpt_dsec.labels.classes import CLASS_NAMES
from egpt_dsec.labels.facts import ObjectFact, clip_objects, describe_objects
from egpt_dsec.labels.questions import Question, clip_questions
from egpt_dsec.labels.tasks import TASKS
from egpt_dsec.labels.tracks import TRACKS_DTYPE, Tracks

__all__ = [
    "CLASS_NAMES",
    "TASKS",
    "TRACKS_DTYPE",
    "ObjectFact",
    "Question",
    "Tracks",
    "clip_objects",
    "clip_questions",
    "describe_objects",
]
