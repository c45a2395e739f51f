"""How sure the model was of an answer, from its token log-probabilities.

confidence = exp(mean token logprob), the replaced method's score; the lowest token
probability and the token count are kept beside it. These describe an answer and
never enter its text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Confidence:
    value: float  # exp(mean token logprob), in (0, 1]
    min_token_prob: float
    tokens: int


def confidence_from_logprobs(logprobs: Sequence[float]) -> Confidence | None:
    """None when there is nothing to score (no logprobs, or an empty answer)."""
    if not logprobs:
        return None
    mean = math.fsum(logprobs) / len(logprobs)
    return Confidence(math.exp(mean), math.exp(min(logprobs)), len(logprobs))
