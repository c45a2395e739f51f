"""The options that decide each kind's bytes, recorded beside the output.

A later build with different options would otherwise mix old and new files in
one dataset; comparing against this record lets it refuse, naming the option,
or (when asked) rebuild just the affected kinds. The record is a projection of
the ``BuildConfig`` (each kind's ``options`` from the kinds table), so ``verify``
gets back a ``BuildConfig`` that describes every kind's files as they were built.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

from egpt_dsec.config import (
    BuildConfig,
    config_from_json,
    config_to_json,
    current_name,
    to_json_value,
)
from egpt_dsec.fs import atomic_write_bytes
from egpt_dsec.kinds import BY_NAME, EVENT_NPY, EVENT_REF, KINDS, DatasetContext, Kind
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.options import NEW, Declared, declared, value_of
from egpt_dsec.source.discover import recall_source, synthetic_specs
from egpt_dsec.state.manifest import Manifest

KindOptions = dict[str, dict[str, Any]]  # kind -> dotted option -> JSON value

# What an output recorded before an option existed was built with.
_BEFORE = {
    d.name: to_json_value(d.flag.before)
    for d in declared(BuildConfig)
    if d.flag is not None and d.flag.before is not NEW
}


def kind_options(config: BuildConfig) -> KindOptions:
    """For each kind, the options its bytes depend on (JSON-ready values)."""
    return {
        kind.name: {name: to_json_value(value_of(config, name)) for name in kind.option_names}
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
        named = {current_name(name): value for name, value in options.items()}
        older = {n: v for n, v in _BEFORE.items() if n in BY_NAME[kind].option_names}
        out[kind] = older | {n: v for n, v in named.items() if n in BY_NAME[kind].option_names}
    return out


def migrate(state: StateLayout) -> None:
    """Outputs of 0.2.0 built with ``--event-format ref`` recorded their events under
    ``event_npy``; the ref store is its own kind now (called with the build's lock held)."""
    if not state.options_file.is_file():
        return
    recorded = json.loads(state.options_file.read_text())
    if recorded.get(EVENT_NPY.name, {}).get("event_format") != "ref":
        return
    recorded[EVENT_REF.name] = recorded.pop(EVENT_NPY.name)
    Manifest(state).rename_component(EVENT_NPY.name, EVENT_REF.name)
    atomic_write_bytes(state.options_file, json.dumps(recorded, indent=1, sort_keys=True).encode())


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
        if BY_NAME[kind].per_dataset or kind not in recorded:
            continue  # the JSON files and the card are rewritten whole by every build
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
    data.update({name: v for name, v in recorded.items() if name in BY_NAME[kind].option_names})
    return replace(config_from_json(data), out=state.out)


def dataset_context(config: BuildConfig, splits: list[str]) -> DatasetContext:
    """What the JSON files and the card are written from: the manifest's clips and every
    kind the output holds, each with the options it was built with."""
    state = StateLayout(config.out)
    records = Manifest(state).all_records()
    held = set(load_options(state)) | set(config.components)
    kinds = tuple(
        (kind, kind.options_of(_built_with(state, config, kind)))
        for kind in KINDS
        if kind.name in held
    )
    found = sorted({split for split, _ in records} | set(splits))
    synth = _synthetic(state, config.dsec_root)
    return DatasetContext(
        config.output, config.dsec_root, config.camera, kinds, records, found,
        data_options(config), command_line(config), synth is not None, synth or (),
    )  # fmt: skip


def _synthetic(state: StateLayout, dsec_root: Path) -> tuple[str, ...] | None:
    """The synth commands of a synthetic root (None: real DSEC), from the root's marker,
    or, once the root is gone, as the last card recorded them."""
    if dsec_root.is_dir():
        return synthetic_specs(dsec_root)
    return recall_source(state.source_file)


def _built_with(state: StateLayout, config: BuildConfig, kind: Kind) -> BuildConfig:
    if config.wants(kind.name) or not state.last_build_file.is_file():
        return config
    return recorded_config(state, kind.name)


def data_options(config: BuildConfig) -> dict[str, Any]:
    """The options the data depends on (not how it was run: paths, workers, executor)."""
    names = {"splits", "sequences", "durations", "components"}
    names |= {name for kind in config.kinds for name in kind.option_names}
    return {k: v for k, v in config_to_json(config).items() if k in names}


# How a build runs, not what it gives: left out of the command.
_HOW_IT_RUNS = ("workers",)


def command_line(config: BuildConfig) -> str:
    """The build command that gives this data, with ``DSEC`` and ``OUT`` for the paths:
    the options that differ from their defaults, in declaration order, each spelled so
    the CLI parses it back to the same value. An option read from a file shows the
    file as its example name (``--questions questions.txt``); the card lists its
    contents."""
    words = ["egpt-dsec", "build", "--dsec-root", "DSEC", "--out", "OUT"]
    for d in declared(BuildConfig):
        if d.flag is None or d.required or d.name in _HOW_IT_RUNS:
            continue
        value = value_of(config, d.name)
        if value == _default(config, d):
            continue
        if d.flag.switch:
            words.append(d.flag.flag)
        elif d.flag.parse is Path and d.flag.to_value is not None:  # read from a file
            words += [d.flag.flag, shlex.quote(d.flag.example)]
        else:
            shown = d.flag.show(value) if d.flag.show else str(value)
            words += [d.flag.flag, shlex.quote(shown)]
    return " ".join(words)


def _default(config: BuildConfig, d: Declared) -> Any:
    """The option's value when its flag is not given: the components add the event
    tensors for ``--tensors`` and swap in the ref store for ``--event-format ref``."""
    if d.name != "components":
        return d.default
    try:
        return replace(config, components=d.default).components
    except ValueError:
        return d.default
