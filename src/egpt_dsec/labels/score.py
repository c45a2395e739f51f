"""A model's accuracy on the multiple-choice items (pure): per task, duration and split.

A split and duration is scored when at least one of its items has a prediction; there
an item without one counts as wrong (``missing``). Predictions naming no item are
counted (``unknown``) and otherwise ignored.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from egpt_dsec.durations import Duration
from egpt_dsec.labels.tasks import TASKS


@dataclass(frozen=True)
class Item:
    """A multiple-choice item: where it is, its task, the index of the right option."""

    id: str
    split: str
    duration: str
    task: str
    answer: int


@dataclass
class Tally:
    items: int = 0
    correct: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.items if self.items else 0.0

    def add(self, right: bool) -> None:
        self.items += 1
        self.correct += right

    def to_json(self) -> dict[str, Any]:
        return {"items": self.items, "correct": self.correct, "accuracy": self.accuracy}


@dataclass
class Score:
    total: Tally = field(default_factory=Tally)
    by_task: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_duration: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_split: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    groups: dict[tuple[str, str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    missing: int = 0  # items of scored groups without a prediction (counted wrong)
    unknown: int = 0  # predictions whose id is no item

    def to_json(self) -> str:
        def block(tallies: Mapping[str, Tally]) -> dict[str, Any]:
            return {k: tallies[k].to_json() for k in tallies}

        data = {
            **self.total.to_json(),
            "missing": self.missing,
            "unknown": self.unknown,
            "by_task": block({t: self.by_task[t] for t in _tasks(self.by_task)}),
            "by_duration": block({d: self.by_duration[d] for d in _durations(self.by_duration)}),
            "by_split": block(dict(sorted(self.by_split.items()))),
            "groups": [
                {"split": s, "duration": d, "task": t, **tally.to_json()}
                for (s, d, t), tally in sorted(self.groups.items(), key=_group_order)
            ],
        }
        return json.dumps(data, indent=1)


def _tasks(found: Iterable[str]) -> list[str]:
    return sorted(found, key=lambda t: (TASKS.index(t) if t in TASKS else len(TASKS), t))


def _durations(found: Iterable[str]) -> list[str]:
    return sorted(found, key=lambda d: Duration.parse(d).us)


def _group_order(item: tuple[tuple[str, str, str], Tally]) -> tuple[str, int, int]:
    split, duration, task = item[0]
    rank = TASKS.index(task) if task in TASKS else len(TASKS)
    return split, Duration.parse(duration).us, rank


def score(items: Iterable[Item], predictions: Mapping[str, int]) -> Score:
    items = list(items)
    known = {item.id for item in items}
    scored = {(i.split, i.duration) for i in items if i.id in predictions}
    result = Score(unknown=sum(1 for p in predictions if p not in known))
    for item in items:
        if (item.split, item.duration) not in scored:
            continue
        guess = predictions.get(item.id)
        result.missing += guess is None
        right = guess == item.answer
        for tally in (
            result.total,
            result.by_task[item.task],
            result.by_duration[item.duration],
            result.by_split[item.split],
            result.groups[(item.split, item.duration, item.task)],
        ):
            tally.add(right)
    return result


def format_score(result: Score) -> str:
    """A table: one line per split, duration and task, then the totals by task, by
    duration, by split and overall."""
    rows = [["split", "duration", "task", "items", "correct", "accuracy"]]
    for (split, duration, task), tally in sorted(result.groups.items(), key=_group_order):
        rows.append([split, duration, task, *_cells(tally)])
    for task in _tasks(result.by_task):
        rows.append(["all", "all", task, *_cells(result.by_task[task])])
    for duration in _durations(result.by_duration):
        rows.append(["all", duration, "all", *_cells(result.by_duration[duration])])
    for split in sorted(result.by_split):
        rows.append([split, "all", "all", *_cells(result.by_split[split])])
    rows.append(["all", "all", "all", *_cells(result.total)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in
                       enumerate(zip(row, widths, strict=True))) for row in rows]  # fmt: skip
    lines.insert(1, "-" * len(lines[0]))
    lines.append(f"accuracy {result.total.accuracy:.4f} over {result.total.items} items")
    if result.missing:
        lines.append(f"{result.missing} item(s) had no prediction and count as wrong")
    if result.unknown:
        lines.append(f"{result.unknown} prediction(s) name no item and were ignored")
    return "\n".join(lines)


def _cells(tally: Tally) -> list[str]:
    return [str(tally.items), str(tally.correct), f"{tally.accuracy:.4f}"]
