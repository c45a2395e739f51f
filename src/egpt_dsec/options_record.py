"""The options that decide each component's bytes, recorded beside the output.

A later build with different options would otherwise mix old and new files in
one dataset; comparing against this record lets it refuse, naming the option,
or (when asked) rebuild just the affected components.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from egpt_dsec.config import COMPONENTS, BuildConfig, config_from_json, config_to_json
from egpt_dsec.writers.atomic import atomic_write_bytes

OPTIONS_FILE = "options.json"
LAST_CONFIG_FILE = "last_build.json"


def component_options(config: BuildConfig) -> dict[str, dict[str, Any]]:
    """For each component, the options its bytes depend on (JSON-ready values)."""
    windows = {"overlap": config.overlap, "camera": config.camera}
    images = asdict(config.images)
    video = {k: v for k, v in asdict(config.video).items() if k != "frames"}
    video["size"] = list(config.video.size) if config.video.size else None
    if config.video.mode == "remux":
        video["shard_seconds"] = config.shard_seconds  # where sequence encodes start
    return {
        "event_npy": {**windows, "event_format": config.event_format},
        "event_image": {**windows, **images},
        "video": {**windows, "frames": config.video.frames},
        "mp4": {**windows, **video},
        "json": {**windows, "questions": list(config.questions)},
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


def load_options(state_dir: Path) -> dict[str, dict[str, Any]] | None:
    path = state_dir / OPTIONS_FILE
    if not path.is_file():
        return None
    return dict(json.loads(path.read_text()))


def save_options(state_dir: Path, config: BuildConfig) -> None:
    """Record the options of the components this build writes (others keep their record)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    recorded = load_options(state_dir) or {}
    current = component_options(config)
    for component in config.components:
        recorded[component] = current[component]
    atomic_write_bytes(
        state_dir / OPTIONS_FILE, json.dumps(recorded, indent=1, sort_keys=True).encode()
    )


def save_last_config(state_dir: Path, config: BuildConfig) -> None:
    """The whole config of the last build, for ``verify --fix``."""
    data = json.dumps(config_to_json(config), indent=1, sort_keys=True)
    atomic_write_bytes(state_dir / LAST_CONFIG_FILE, data.encode())


def load_last_config(state_dir: Path) -> BuildConfig:
    path = state_dir / LAST_CONFIG_FILE
    if not path.is_file():
        raise ValueError(f"{path} is missing: no build has run on this output yet")
    return config_from_json(json.loads(path.read_text()))


def changed_options(state_dir: Path, config: BuildConfig) -> dict[str, list[str]]:
    """Component -> descriptions of options that differ from the recorded ones."""
    recorded = load_options(state_dir) or {}
    current = component_options(config)
    changes: dict[str, list[str]] = {}
    for component in COMPONENTS:
        if component == "json":
            continue  # the JSON files are rewritten whole by every build
        if component not in config.components or component not in recorded:
            continue
        old, new = recorded[component], current[component]
        diffs = [
            f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
            for key in sorted(set(old) | set(new))
            if old.get(key) != new.get(key)
        ]
        if diffs:
            changes[component] = diffs
    return changes
