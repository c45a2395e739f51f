"""Deterministic choices: every pick that ``--seed`` decides is an order by a hash.

``rank(seed, *parts)`` is the CRC-32 of ``"<seed>|<part>|<part>..."``: the same on every
machine and Python version, never a random draw. Items are sorted by their rank (then by
their text), so a changed seed reorders them and the same seed never does.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def rank(seed: int, *parts: object) -> int:
    return zlib.crc32("|".join(str(p) for p in (seed, *parts)).encode("utf-8"))


def by_rank(items: Iterable[T], seed: int, *parts: object) -> list[T]:
    """``items`` ordered by ``rank(seed, *parts, item)``, ties by the item's text."""
    return sorted(items, key=lambda item: (rank(seed, *parts, item), str(item)))


def pick(count: int, seed: int, *parts: object) -> int:
    """An index in ``range(count)``."""
    return rank(seed, *parts) % count
