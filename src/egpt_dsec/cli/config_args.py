"""Command-line flags derived from the config dataclasses' own declarations."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from egpt_dsec.options import Declared, build_from, declared

_REQUIRED = object()


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Option help wrapped, the epilog's worked examples kept line for line; a little
    more room for a flag and its value before its help starts."""

    def __init__(self, prog: str, **kwargs: Any) -> None:
        super().__init__(prog, max_help_position=24, **kwargs)


def _help(d: Declared, default: Any, shown: str | None, spelled: str) -> str:
    """The flag's help, its default said once (a switch is off unless given), an example."""
    assert d.flag is not None
    flag = d.flag
    parts = [flag.help]
    if default is not _REQUIRED and not flag.switch:
        if shown is None:
            shown = flag.show(default) if flag.show else str(default)
        parts.append(f"default: {shown}")
    if flag.example:
        parts.append(f"e.g. {spelled} {flag.example}")
    return "; ".join(parts)


def group_of(d: Declared) -> str:
    """The help group of an option: a kind's own option that of its options group (the
    field it lives in, e.g. ``mp4``), a shared option the one its flag names."""
    assert d.flag is not None
    return d.name.rsplit(".", 1)[0] if "." in d.name else d.flag.group


def _kwargs(
    d: Declared, default: Any, shown: str | None, own_default: bool, spelled: str
) -> dict[str, Any]:
    """``add_argument``'s keywords for the declared option (``own_default``: the command's;
    ``spelled``: its flag in this command)."""
    assert d.flag is not None
    kwargs: dict[str, Any] = {"dest": d.name, "help": _help(d, default, shown, spelled)}
    if default is _REQUIRED:
        kwargs["required"] = True
    else:  # an option not given stays unset: its default comes from the dataclass
        kwargs["default"] = default if own_default else argparse.SUPPRESS
    if d.flag.switch:
        kwargs["action"] = "store_true"
    if d.flag.choices:
        kwargs["choices"] = d.flag.choices
    if d.flag.parse:
        kwargs["type"] = d.flag.parse
    if d.flag.metavar:
        kwargs["metavar"] = d.flag.metavar
    elif d.flag.example and not d.flag.choices and not d.flag.switch:
        kwargs["metavar"] = d.flag.flag.lstrip("-").upper().replace("-", "_")
    return kwargs


def add_config_arguments(
    parser: argparse.ArgumentParser,
    cls: type,
    defaults: Mapping[str, tuple[Any, str]] | None = None,
    groups: Mapping[str, str] | None = None,
    flags: Mapping[str, str] | None = None,
) -> None:
    """One flag per declared option of ``cls``; options not given stay unset (defaults
    come from the dataclass, in one place). ``defaults`` gives a command's own default for
    an option the dataclass requires, and how the help says it (``plan`` needs no
    ``--out``). ``groups`` (key -> title, in order) puts each flag in the argument group
    :func:`group_of` names; a flag outside them is a mistake in its declaration. ``flags``
    spells some options another way in this command (name -> flag)."""
    defaults, flags = defaults or {}, flags or {}
    sections = {key: parser.add_argument_group(title) for key, title in (groups or {}).items()}
    for d in declared(cls):
        if d.flag is None:
            continue
        default, shown = defaults.get(d.name, (_REQUIRED if d.required else d.default, None))
        flag = flags.get(d.name, d.flag.flag)
        kwargs = _kwargs(d, default, shown, own_default=d.name in defaults, spelled=flag)
        if groups is None:
            parser.add_argument(flag, **kwargs)
        elif group_of(d) in sections:
            sections[group_of(d)].add_argument(flag, **kwargs)
        else:
            raise ValueError(
                f"{d.flag.flag} declares no help group (group=) of {', '.join(sections)}"
            )


def config_from_args(args: argparse.Namespace, cls: type) -> Any:
    """An instance of ``cls`` from the flags given (``to_value`` applied)."""
    values = {}
    for d in declared(cls):
        if d.flag is not None and hasattr(args, d.name):
            value = getattr(args, d.name)
            values[d.name] = d.flag.to_value(value) if d.flag.to_value else value
    return build_from(cls, values)
