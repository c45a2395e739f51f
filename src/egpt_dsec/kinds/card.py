"""``card``: ``OUT/README.md``, the dataset card, written once per build (and by
``annotate``, after the JSON files).

Gathers what the card says (``writers.card`` renders it): Hugging Face configs for both
trainers' files, statistics per split and duration from the manifest and the files,
the answers and the questions really asked (the provenance files the JSON kind wrote),
the command and options that built it, and whether the input was DSEC or synth's test
data. It names no path of the machine that built it, and counts file sizes, not disk
blocks or links, so the same data gives the same card anywhere.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from egpt_dsec import __version__
from egpt_dsec.answers.provenance import read_provenance
from egpt_dsec.durations import Duration
from egpt_dsec.fs import write_if_changed
from egpt_dsec.kinds.base import DatasetContext, Kind
from egpt_dsec.kinds.label_qa import LABEL_QA, label_configs, read_summaries
from egpt_dsec.kinds.mp4 import MP4
from egpt_dsec.layout.output import ANNOTATION_FILES, LABEL_FILES, PROVENANCE_JSON, OutputLayout
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.source.discover import source_record
from egpt_dsec.writers.card import dataset_card
from egpt_dsec.writers.card_facts import (
    EVENTGPT,
    VIDEOLLAVA,
    AnswerFacts,
    AnswerGroup,
    CardFacts,
    GroupStats,
    HfConfig,
)

ALL = "all"  # the config of every duration together (the split files)
VIDEOLLAVA_PREFIX = "videollava_"  # the Video-LLaVA configs: videollava_1s, videollava_all


class CardKind(Kind):
    def publish(self, ctx: DatasetContext) -> list[Path]:
        """Write the card (after the JSON files, whose configs, sizes and answers it
        shows); remember whether the input was synthetic, for a card written once the
        DSEC root is gone."""
        layout = ctx.layout
        stats = group_stats(ctx)
        answers = answer_facts(layout, stats)
        clip_kinds = tuple(kind.name for kind, _ in ctx.kinds if kind.per_clip)
        facts = CardFacts(
            version=__version__,
            command=ctx.command,
            options=ctx.options,
            configs=hf_configs(layout, ctx.splits) + label_configs(layout, ctx.splits),
            stats=stats,
            kinds=(*clip_kinds, "json", *_labelled(stats)),
            clip_kinds=clip_kinds,
            entries=entry_count(stats, answers),
            split_bytes={s: _split_bytes(layout, s) for s in ctx.splits},
            answers=answers,
            labels=[
                {"split": s, "duration": d, **g} for s, d, g in read_summaries(layout, ctx.splits)
            ],
            synthetic=ctx.synthetic,
            synth_commands=ctx.synth_commands,
        )
        write_if_changed(layout.card, dataset_card(facts).encode("utf-8"))
        state = StateLayout(layout.root)
        if state.root.is_dir():
            write_if_changed(state.source_file, source_record(_synth(ctx)))
        return [layout.card]


CARD = CardKind("card", per_dataset=True, checked_by="rewritten whole by every build")


def _labelled(stats: list[GroupStats]) -> tuple[str, ...]:
    """The label files' column, when a group has them."""
    return (LABEL_QA.name,) if any(LABEL_QA.name in s.bytes for s in stats) else ()


def _synth(ctx: DatasetContext) -> tuple[str, ...] | None:
    return ctx.synth_commands if ctx.synthetic else None


def _counts(ctx: DatasetContext) -> dict[tuple[str, str], list[int]]:
    """(split, duration) -> [clips, empty, no frame, no MP4, events]."""
    mp4 = ctx.options_of(MP4)
    rows: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for (split, _), recs in ctx.records.items():
        for r in recs.values():
            row = rows[(split, r.duration)]
            if r.empty:
                row[1] += 1
                continue
            row[0] += 1
            row[2] += r.frame_stop == r.frame_start
            row[3] += mp4 is not None and not MP4.has_files(r, mp4)
            row[4] += r.num_events
    return rows


def _seconds(ctx: DatasetContext) -> dict[tuple[str, str], float]:
    """Seconds of recording the clips of each split and duration cover, per sequence
    from the first clip's start to the last clip's end."""
    spans: dict[tuple[str, str, str], list[int]] = {}
    for (split, sequence), recs in ctx.records.items():
        for r in recs.values():
            span = spans.setdefault((split, r.duration, sequence), [r.t0, r.t1])
            span[0], span[1] = min(span[0], r.t0), max(span[1], r.t1)
    seconds: dict[tuple[str, str], float] = defaultdict(float)
    for (split, label, _), (a, b) in sorted(spans.items()):
        seconds[(split, label)] += (b - a) / 1e6
    return seconds


def group_stats(ctx: DatasetContext) -> list[GroupStats]:
    """Per split and duration: clips, empty windows, clips without a frame or an MP4,
    events, seconds covered, bytes per kind."""
    layout, has_mp4 = ctx.layout, ctx.options_of(MP4) is not None
    seconds = _seconds(ctx)
    stats = []
    for (split, label), (clips, empty, no_frame, no_mp4, events) in sorted(
        _counts(ctx).items(), key=lambda kv: (kv[0][0], Duration.parse(kv[0][1]))
    ):
        duration = Duration.parse(label)
        sizes = {
            kind.name: _tree_bytes(layout.kind_dir(split, duration, kind))
            for kind, _ in ctx.kinds
            if kind.per_clip
        }
        folder = layout.duration_dir(split, duration)
        sizes["json"] = sum(_size(folder / name) for name in (*ANNOTATION_FILES, PROVENANCE_JSON))
        labels = sum(_size(folder / name) for name in LABEL_FILES)
        if labels:
            sizes[LABEL_QA.name] = labels
        stats.append(
            GroupStats(
                split=split,
                duration=label,
                clips=clips,
                empty=empty,
                no_frame=no_frame,
                no_mp4=no_mp4 if has_mp4 else None,
                events=events,
                seconds=seconds[(split, label)],
                bytes=sizes,
            )
        )
    return stats


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def _split_bytes(layout: OutputLayout, split: str) -> int:
    """The split's combined files (every duration)."""
    return _size(layout.split_dataset_json(split)) + _size(layout.split_videollava_json(split))


def _tree_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder``, each at its size whether it is a copy or a
    link to a source frame: the same on every file system, and what a copy or an upload
    of the dataset holds."""
    total = 0
    for here, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.stat(os.path.join(here, name)).st_size
            except OSError:
                continue  # a link whose target is gone
    return total


def answer_facts(layout: OutputLayout, stats: list[GroupStats]) -> list[AnswerFacts]:
    """The answer sets of the provenance files, each with the groups it answered."""
    sets: dict[str, AnswerFacts] = {}
    for s in stats:
        record = read_provenance(layout.provenance_json(s.split, Duration.parse(s.duration)))
        if record is None:
            continue
        key = str(record["settings_key"])
        if key not in sets:
            sets[key] = AnswerFacts(
                model=str(record["model"]),
                key=key,
                settings=dict(record["settings"]),
                select=str(record["select"]),
                min_confidence=float(record.get("min_confidence") or 0.0),
                questions=tuple(record["questions"]),
                prompt_template=str(record.get("prompt_template") or ""),
                groups=[],
            )
        sources: dict[str, int] = defaultdict(int)
        for source, count in dict(record.get("sources") or {}).items():
            sources[str(source).split(" ", 1)[0]] += int(count)  # "online <host>" -> online
        group = AnswerGroup(s.split, s.duration, dict(record["counts"]), dict(sources))
        sets[key].groups.append(group)
    return [sets[key] for key in sorted(sets)]


def entry_count(stats: list[GroupStats], answers: list[AnswerFacts]) -> int:
    """EventGPT entries of every split and duration: a group's kept clips once answered,
    else its clips."""
    kept = {(g.split, g.duration): g.counts.get("kept", 0) for a in answers for g in a.groups}
    return sum(kept.get((s.split, s.duration), s.clips) for s in stats)


def hf_configs(layout: OutputLayout, splits: list[str]) -> list[HfConfig]:
    """For the files the JSON kind wrote: an EventGPT config per duration (its file per
    split) and ``all`` (the split files, the default), then the same for Video-LLaVA."""
    found: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for split in sorted(splits):
        for label, trainer, path in _trainer_files(layout, split):
            if path.is_file():
                found[(trainer, label)].append((split, path.relative_to(layout.root).as_posix()))
    configs = []
    for trainer, prefix in ((EVENTGPT, ""), (VIDEOLLAVA, VIDEOLLAVA_PREFIX)):
        labels = sorted((d for t, d in found if t == trainer and d != ALL), key=Duration.parse)
        for label in [*labels, ALL]:
            if (trainer, label) in found:
                name, default = f"{prefix}{label}", trainer == EVENTGPT and label == ALL
                configs.append(HfConfig(name, trainer, found[(trainer, label)], default))
    return configs


def _trainer_files(layout: OutputLayout, split: str) -> list[tuple[str, str, Path]]:
    """(duration label or ``all``, trainer, file) of every file a config may name."""
    files = []
    for folder in layout.duration_dirs(split):
        label = layout.locate(folder / "x").duration
        duration = Duration.parse(label)
        files.append((label, EVENTGPT, layout.eventgpt_json(split, duration)))
        files.append((label, VIDEOLLAVA, layout.videollava_json(split, duration)))
    files.append((ALL, EVENTGPT, layout.split_dataset_json(split)))
    files.append((ALL, VIDEOLLAVA, layout.split_videollava_json(split)))
    return files
