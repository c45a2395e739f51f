"""Options are declared once, on the fields of the config dataclasses.

A field made with :func:`option` carries its command-line flag, help and example
beside its default, so the CLI, ``verify``, the options record and the plan all
derive names, defaults and help from the one declaration. Nested option groups
(``images``, ``video``) are dataclass-typed fields; their options are addressed by
dotted names (``video.crf``), which is also how the options record names them.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterator
from dataclasses import MISSING, Field, dataclass
from typing import Any


class _New:
    """The ``before`` of an option whose effect did not exist before it."""

    def __repr__(self) -> str:
        return "NEW"


NEW: Any = _New()


@dataclass(frozen=True)
class Flag:
    """How an option appears on the command line."""

    flag: str  # e.g. "--crf"
    help: str
    example: str = ""  # a value to show in the help, e.g. "23"
    parse: Callable[[str], Any] | None = None  # argparse ``type``
    choices: tuple[str, ...] | None = None
    to_value: Callable[[Any], Any] | None = None  # the parsed flag -> the field's value
    # The value as the help and the card's command line show it; for a default that means
    # "absent" (None), what absent means ("the frames' size").
    show: Callable[[Any], str] | None = None
    switch: bool = False  # a flag without a value that turns the option on
    metavar: str = ""  # the value's name in the help ("N", "LIST"); default: from the flag
    # The help group of a shared option ("input", "windows", "output": config.HELP_GROUPS);
    # a kind's own options are grouped by their options group and leave this empty.
    group: str = ""
    # How builds made before the option existed behaved (compared with a recorded output
    # that does not name the option); NEW: the option's effect is new.
    before: Any = NEW


def option(default: Any = MISSING, **flag: Any) -> Any:
    """A dataclass field with a command-line flag (``Flag``'s fields as keywords)."""
    return dataclasses.field(default=default, metadata={"flag": Flag(**flag)})


@dataclass(frozen=True)
class Declared:
    """One option field: its dotted name, the field, and its flag (None: not on the CLI)."""

    name: str
    field: Field[Any]
    flag: Flag | None
    owner: type

    @property
    def required(self) -> bool:
        return self.field.default is MISSING and self.field.default_factory is MISSING

    @property
    def default(self) -> Any:
        if self.field.default_factory is not MISSING:
            return self.field.default_factory()
        return None if self.field.default is MISSING else self.field.default


def declared(cls: type, prefix: str = "") -> Iterator[Declared]:
    """Every option of ``cls``, nested groups flattened, in declaration order."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            yield from declared(hint, f"{prefix}{f.name}.")
        else:
            yield Declared(f"{prefix}{f.name}", f, f.metadata.get("flag"), cls)


def value_of(config: Any, name: str) -> Any:
    """The value of the dotted option ``name`` in ``config``."""
    for part in name.split("."):
        config = getattr(config, part)
    return config


def build_from(cls: type, values: dict[str, Any], prefix: str = "") -> Any:
    """An instance of ``cls`` from dotted-name values; missing names keep their defaults."""
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        hint, name = hints[f.name], f"{prefix}{f.name}"
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            kwargs[f.name] = build_from(hint, values, f"{name}.")
        elif name in values:
            kwargs[f.name] = values[name]
    return cls(**kwargs)


def with_values(config: Any, values: dict[str, Any]) -> Any:
    """``config`` with some dotted options replaced (validated again)."""
    current = {d.name: value_of(config, d.name) for d in declared(type(config))}
    return build_from(type(config), {**current, **values})


def check_choices(config: Any) -> None:
    """Refuse a value outside its flag's choices (each group checks its own fields)."""
    for f in dataclasses.fields(config):
        flag = f.metadata.get("flag")
        value = getattr(config, f.name)
        if flag is not None and flag.choices and value not in flag.choices:
            raise ValueError(f"{flag.flag} must be one of {', '.join(flag.choices)}, got {value!r}")
