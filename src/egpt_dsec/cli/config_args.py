"""Command-line flags derived from the config dataclasses' own declarations."""

from __future__ import annotations

import argparse
from typing import Any

from egpt_dsec.options import Declared, build_from, declared


def _help(d: Declared, default: Any) -> str:
    assert d.flag is not None
    flag = d.flag
    parts = [flag.help]
    if default is not _REQUIRED:
        shown = flag.show(default) if flag.show else default
        parts.append(f"default: {shown}")
    if flag.example:
        parts.append(f"e.g. {flag.flag} {flag.example}")
    return "; ".join(parts)


_REQUIRED = object()


def add_config_arguments(
    parser: argparse.ArgumentParser, cls: type, defaults: dict[str, Any] | None = None
) -> None:
    """One flag per declared option of ``cls``; options not given stay unset (defaults
    come from the dataclass, in one place). ``defaults`` gives a command's own default
    for an option the dataclass requires (``plan`` needs no ``--out``)."""
    defaults = defaults or {}
    for d in declared(cls):
        if d.flag is None:
            continue
        default = defaults.get(d.name, _REQUIRED if d.required else d.default)
        kwargs: dict[str, Any] = {"dest": d.name, "help": _help(d, default)}
        if default is _REQUIRED:
            kwargs["required"] = True
        elif d.name in defaults:
            kwargs["default"] = default
        else:
            kwargs["default"] = argparse.SUPPRESS
        if d.flag.switch:
            kwargs["action"] = "store_true"
        if d.flag.choices:
            kwargs["choices"] = d.flag.choices
        if d.flag.parse:
            kwargs["type"] = d.flag.parse
        if d.flag.example and not d.flag.choices and not d.flag.switch:
            kwargs["metavar"] = d.flag.flag.lstrip("-").upper().replace("-", "_")
        parser.add_argument(d.flag.flag, **kwargs)


def config_from_args(args: argparse.Namespace, cls: type) -> Any:
    """An instance of ``cls`` from the flags given (``to_value`` applied)."""
    values = {}
    for d in declared(cls):
        if d.flag is not None and hasattr(args, d.name):
            value = getattr(args, d.name)
            values[d.name] = d.flag.to_value(value) if d.flag.to_value else value
    return build_from(cls, values)
