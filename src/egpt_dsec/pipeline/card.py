"""``OUT/README.md``, the dataset card, from the manifest, the JSON files and the disk."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from egpt_dsec import __version__
from egpt_dsec.config import BuildConfig, config_to_json
from egpt_dsec.durations import Duration
from egpt_dsec.fs import write_if_changed
from egpt_dsec.kinds import FILE_KINDS, JSON, KINDS
from egpt_dsec.layout.output import DATASET_JSON, EVENTGPT_JSON, OutputLayout
from egpt_dsec.pipeline.json_files import JsonFile, Records
from egpt_dsec.writers.card import CardFacts, GroupStats, dataset_card

ALL = "all"  # the config of every duration together (the split files)
# The options the data depends on (not how it was run: workers, executor).
_DATA_OPTIONS = {
    "splits", "sequences", "durations", "components", *(o for k in KINDS for o in k.options)
}  # fmt: skip


def group_stats(config: BuildConfig, records: Records, files: list[JsonFile]) -> list[GroupStats]:
    """Per split and duration: clips, empty windows, events, seconds covered, bytes."""
    layout = config.output
    clips: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    spans: dict[tuple[str, str, str], list[int]] = {}
    for (split, sequence), recs in records.items():
        for r in recs.values():
            row = clips[(split, r.duration)]
            row[0 if r.num_events else 1] += 1
            row[2] += r.num_events
            span = spans.setdefault((split, r.duration, sequence), [r.t0, r.t1])
            span[0], span[1] = min(span[0], r.t0), max(span[1], r.t1)
    json_bytes: dict[tuple[str, str], int] = defaultdict(int)
    for file in files:
        at = layout.locate(file.path)
        json_bytes[(at.split, at.duration)] += len(file.data)
    stats = []
    for (split, label), (full, empty, events) in sorted(
        clips.items(), key=lambda kv: (kv[0][0], Duration.parse(kv[0][1]))
    ):
        seconds = sum(
            (b - a) / 1e6 for (s, d, _), (a, b) in spans.items() if (s, d) == (split, label)
        )
        sizes = {
            k.name: _tree_bytes(layout.kind_dir(split, Duration.parse(label), k))
            for k in FILE_KINDS
        }
        sizes[JSON.name] = json_bytes[(split, label)]
        stats.append(GroupStats(split, label, full, empty, events, seconds, sizes))
    return stats


def _tree_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder`` that are its own: hard links to the DSEC
    frames and symlinks cost no space."""
    total = 0
    for here, _, names in os.walk(folder):
        for name in names:
            info = os.lstat(os.path.join(here, name))
            if info.st_nlink == 1 and not os.path.islink(os.path.join(here, name)):
                total += info.st_size
    return total


def hf_configs(layout: OutputLayout, files: list[JsonFile]) -> dict[str, list[tuple[str, str]]]:
    """One config per duration (its EventGPT file per split) and ``all`` (the split files)."""
    configs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for file in sorted(files, key=lambda f: f.path.as_posix()):
        at, rel = layout.locate(file.path), file.path.relative_to(layout.root).as_posix()
        if file.path.name == EVENTGPT_JSON:
            configs[at.duration].append((at.split, rel))
        elif file.path.name == DATASET_JSON:
            configs[ALL].append((at.split, rel))
    ordered = sorted((c for c in configs if c != ALL), key=Duration.parse)
    return {name: configs[name] for name in [*ordered, ALL] if name in configs}


def write_card(config: BuildConfig, records: Records, files: list[JsonFile], command: str) -> Path:
    layout = config.output
    facts = CardFacts(
        version=__version__,
        command=command,
        options={k: v for k, v in config_to_json(config).items() if k in _DATA_OPTIONS},
        configs=hf_configs(layout, files),
        stats=group_stats(config, records, files),
        kinds=(*(k.name for k in FILE_KINDS), JSON.name),
    )
    write_if_changed(layout.card, dataset_card(facts).encode("utf-8"))
    return layout.card
