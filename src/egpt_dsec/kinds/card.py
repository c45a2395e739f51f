"""``card``: ``OUT/README.md``, the dataset card, written once per build.

Hugging Face YAML (a config per duration and ``all``), how to load it, statistics per
split and duration from the manifest and the disk, the command and options that built
it, and DSEC's license, attribution and citation (``writers.card`` renders it). It names
no path of the machine that built it, so the same data gives the same card anywhere.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from egpt_dsec import __version__
from egpt_dsec.durations import Duration
from egpt_dsec.fs import write_if_changed
from egpt_dsec.kinds.base import DatasetContext, Kind
from egpt_dsec.layout.output import ANNOTATION_FILES, PROVENANCE_JSON, OutputLayout
from egpt_dsec.writers.card import CardFacts, GroupStats, dataset_card

ALL = "all"  # the config of every duration together (the split files)


class CardKind(Kind):
    def publish(self, ctx: DatasetContext) -> list[Path]:
        """Write the card (after the JSON files, whose configs and sizes it shows)."""
        layout = ctx.layout
        facts = CardFacts(
            version=__version__,
            command=ctx.command,
            options=ctx.options,
            configs=hf_configs(layout, ctx.splits),
            stats=group_stats(ctx),
            kinds=tuple(kind.name for kind, _ in ctx.kinds if kind is not self),
        )
        write_if_changed(layout.card, dataset_card(facts).encode("utf-8"))
        return [layout.card]


CARD = CardKind("card", per_dataset=True, checked_by="rewritten whole by every build")


def group_stats(ctx: DatasetContext) -> list[GroupStats]:
    """Per split and duration: clips, empty windows, events, seconds covered, bytes."""
    layout = ctx.layout
    clips: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    spans: dict[tuple[str, str, str], list[int]] = {}
    for (split, sequence), recs in ctx.records.items():
        for r in recs.values():
            row = clips[(split, r.duration)]
            row[0 if r.num_events else 1] += 1
            row[2] += r.num_events
            span = spans.setdefault((split, r.duration, sequence), [r.t0, r.t1])
            span[0], span[1] = min(span[0], r.t0), max(span[1], r.t1)
    stats = []
    for (split, label), (full, empty, events) in sorted(
        clips.items(), key=lambda kv: (kv[0][0], Duration.parse(kv[0][1]))
    ):
        seconds = sum(
            (b - a) / 1e6 for (s, d, _), (a, b) in spans.items() if (s, d) == (split, label)
        )
        duration = Duration.parse(label)
        sizes = {
            kind.name: _tree_bytes(layout.kind_dir(split, duration, kind))
            for kind, _ in ctx.kinds
            if kind.per_clip
        }
        folder = layout.duration_dir(split, duration)
        sizes["json"] = sum(_size(folder / name) for name in (*ANNOTATION_FILES, PROVENANCE_JSON))
        stats.append(GroupStats(split, label, full, empty, events, seconds, sizes))
    return stats


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


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


def hf_configs(layout: OutputLayout, splits: list[str]) -> dict[str, list[tuple[str, str]]]:
    """One config per duration (its EventGPT file per split) and ``all`` (the split files),
    for the files the JSON kind wrote."""
    configs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for split in sorted(splits):
        for folder in layout.duration_dirs(split):
            label = layout.locate(folder / "x").duration
            path = layout.eventgpt_json(split, Duration.parse(label))
            if path.is_file():
                configs[label].append((split, path.relative_to(layout.root).as_posix()))
        combined = layout.split_dataset_json(split)
        if combined.is_file():
            configs[ALL].append((split, combined.relative_to(layout.root).as_posix()))
    ordered = sorted((c for c in configs if c != ALL), key=Duration.parse)
    return {name: configs[name] for name in [*ordered, ALL] if name in configs}
