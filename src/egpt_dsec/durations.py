"""Clip durations: parsed from labels like ``500ms`` or ``16s``, kept in microseconds."""

from __future__ import annotations

import re
from dataclasses import dataclass

_LABEL = re.compile(r"^\s*(\d+)\s*(ms|s)\s*$")


@dataclass(frozen=True, order=True)
class Duration:
    """A clip duration in microseconds; its label names the output folder."""

    us: int

    def __post_init__(self) -> None:
        if self.us <= 0 or self.us % 1000:
            raise ValueError(f"duration must be a positive whole number of ms, got {self.us} us")

    @property
    def ms(self) -> int:
        return self.us // 1000

    @property
    def label(self) -> str:
        return f"{self.ms // 1000}s" if self.ms % 1000 == 0 else f"{self.ms}ms"

    @property
    def seconds(self) -> float:
        return self.us / 1e6

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _LABEL.match(text)
        if not match:
            raise ValueError(
                f"bad duration {text!r}: use a whole number with ms or s, e.g. 500ms, 4s"
            )
        value, unit = int(match.group(1)), match.group(2)
        return cls(value * (1000 if unit == "ms" else 1_000_000))

    def __str__(self) -> str:
        return self.label


DEFAULT_DURATIONS: tuple[Duration, ...] = tuple(
    Duration.parse(d) for d in ("500ms", "1s", "2s", "4s", "5s", "8s", "10s", "16s")
)


def parse_durations(text: str) -> tuple[Duration, ...]:
    """Parse a comma list (``500ms,1s``) into sorted unique durations."""
    items = [part for part in text.split(",") if part.strip()]
    if not items:
        raise ValueError("no durations given")
    return tuple(sorted({Duration.parse(part) for part in items}))
