"""Argument types shared by the command line and the benchmark."""

from __future__ import annotations

import argparse

from egpt_dsec.durations import Duration, parse_durations


def csv_list(text: str) -> tuple[str, ...]:
    """``a, b,,c`` -> ``("a", "b", "c")``."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def csv_or_all(values: tuple[str, ...] | None) -> str:
    """The inverse of ``csv_list`` for an option whose absence means all: ``all`` or
    ``a,b``."""
    return "all" if values is None else ",".join(values)


def size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` -> ``(width, height)``."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    return width, height


def durations(text: str) -> tuple[Duration, ...]:
    """``500ms,1s`` -> sorted durations, with the parse error as argparse's message."""
    try:
        return parse_durations(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
