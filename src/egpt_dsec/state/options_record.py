"""The options that decide each kind's bytes, recorded beside the output.

A later build with different options would otherwise mix old and new files in
one dataset; comparing against this record lets it refuse, naming the option,
or (when asked) rebuild just the affected kinds. The record is a projection of
the ``BuildConfig`` (each kind's ``options`` from the kinds table), so ``verify``
gets back a ``BuildConfig`` that describes every kind's files as they were built.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from egpt_dsec.config import BuildConfig, config_from_json, config_to_json, to_json_value
from egpt_dsec.fs import atomic_write_bytes
from egpt_dsec.kinds import BY_NAME, JSON, KINDS
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.options import NEW, declared, value_of

KindOptions = dict[str, dict[str, Any]]  # kind -> dotted option -> JSON value

# 0.1.0 recorded options by their last name ("crf"); the names are unique, so map them.
_DOTTED = {d.name.rsplit(".", 1)[-1]: d.name for d in declared(BuildConfig)}
# What an output recorded before an option existed was built with.
_BEFORE = {
    d.name: to_json_value(d.flag.before)
    for d in declared(BuildConfig)
    if d.flag is not None and d.flag.before is not NEW
}


def kind_options(config: BuildConfig) -> KindOptions:
    """For each kind, the options its bytes depend on (JSON-ready values)."""
    return {
        kind.name: {name: to_json_value(value_of(config, name)) for name in kind.options}
        for kind in KINDS
    }


class OptionsChangedError(ValueError):
    """The output was built with other options; mixing them would corrupt the dataset."""

    def __init__(self, out: Path, changes: dict[str, list[str]]) -> None:
        self.changes = changes
        lines = [f"  {c}: {'; '.join(d)}" for c, d in sorted(changes.items())]
        super().__init__(
            f"{out} was built with different options:\n" + "\n".join(lines) + "\n"
            "Use the original options, a new --out, or --rebuild-changed to rebuild "
            "those components with the new options."
        )


def load_options(state: StateLayout) -> KindOptions:
    """The recorded options of every kind written so far (empty before the first build)."""
    if not state.options_file.is_file():
        return {}
    recorded = json.loads(state.options_file.read_text())
    out = {}
    for kind, options in recorded.items():
        named = {_DOTTED.get(name, name): value for name, value in options.items()}
        older = {n: v for n, v in _BEFORE.items() if n in BY_NAME[kind].options}
        out[kind] = older | named
    return out


def save_options(state: StateLayout, config: BuildConfig) -> None:
    """Record the options of the kinds this build writes (others keep their record)."""
    recorded = load_options(state)
    current = kind_options(config)
    for kind in config.components:
        recorded[kind] = current[kind]
    data = json.dumps(recorded, indent=1, sort_keys=True).encode()
    atomic_write_bytes(state.options_file, data)


def changed_options(state: StateLayout, config: BuildConfig) -> dict[str, list[str]]:
    """Kind -> descriptions of options that differ from the recorded ones."""
    recorded = load_options(state)
    current = kind_options(config)
    changes: dict[str, list[str]] = {}
    for kind in config.components:
        if kind == JSON.name or kind not in recorded:
            continue  # the JSON files are rewritten whole by every build
        old, new = recorded[kind], current[kind]
        diffs = [
            f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
            for key in sorted(set(old) | set(new))
            if old.get(key) != new.get(key)
        ]
        if diffs:
            changes[kind] = diffs
    return changes


def save_last_config(state: StateLayout, config: BuildConfig) -> None:
    """The whole config of the last build, for ``verify --fix``."""
    data = json.dumps(config_to_json(config), indent=1, sort_keys=True)
    atomic_write_bytes(state.last_build_file, data.encode())


def load_last_config(state: StateLayout) -> BuildConfig:
    """The last build's config, at the folder it is read from (the output may have moved)."""
    path = state.last_build_file
    if not path.is_file():
        raise ValueError(f"{path} is missing: no build has run on this output yet")
    return replace(config_from_json(json.loads(path.read_text())), out=state.out)


def recorded_config(state: StateLayout, kind: str) -> BuildConfig:
    """The config that built ``kind``'s files: the last config with the options recorded
    for that kind (an earlier build may have written it with other options)."""
    data = config_to_json(load_last_config(state))
    recorded = load_options(state).get(kind, {})
    data.update({name: v for name, v in recorded.items() if name in BY_NAME[kind].options})
    return replace(config_from_json(data), out=state.out)
