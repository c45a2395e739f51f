"""``egpt-dsec status``: planned and finished clips per split, duration and kind, and
the answers (answered, kept, filtered, failed) once ``annotate`` has run.

It reads only the small state files of the build (plans, manifests, provenance), so it
answers in well under a second even for 100,000 clips.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from egpt_dsec.durations import Duration
from egpt_dsec.humanize import text_table
from egpt_dsec.kinds import JSON, KINDS
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.reports.answer_counts import annotation_status
from egpt_dsec.state.manifest import Manifest, read_rows
from egpt_dsec.state.plans import stored_plans
from egpt_dsec.state.running import running

ANSWER_COLUMNS = ("answered", "kept", "filtered", "failed")


@dataclass
class StatusRow:
    split: str
    duration: str
    planned: int = 0
    empty: int = 0
    done: dict[str, int] = field(default_factory=dict)  # kind -> clips done
    answers: dict[str, int] = field(default_factory=dict)  # answered/kept/filtered/failed

    def percent(self, component: str) -> float:
        done = self.done.get(component, 0)
        return 100.0 * done / self.planned if self.planned else 100.0


@dataclass
class BuildStatus:
    rows: list[StatusRow]
    total: StatusRow
    running: list[str]
    sequences: int
    short: list[str]  # "split/sequence: durations" with no room for a clip
    no_clips: list[str] = field(default_factory=list)  # "split/duration" without a clip
    kinds: list[str] = field(default_factory=list)  # the columns: kinds the builds asked for

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)


def collect_status(out: Path) -> BuildStatus:
    state = StateLayout(out)
    plans = stored_plans(state)
    asked = {name for plan in plans for name in plan.components}
    kinds = [k.name for k in KINDS if k.name in asked and (k is JSON or not k.per_dataset)]
    rows: dict[tuple[str, str], StatusRow] = {}
    for plan in plans:
        for duration, count in plan.clips.items():
            row = _row(rows, plan.split, duration)
            row.planned += count
            row.done = row.done or dict.fromkeys(kinds, 0)
    _count_done(rows, state, kinds)
    for (split, duration), clips in Manifest(state).annotated().items():
        if (split, duration) in rows:
            rows[(split, duration)].done[JSON.name] = clips
    for (split, duration), counts in annotation_status(out).items():
        if (split, duration) in rows:
            rows[(split, duration)].answers = {k: getattr(counts, k) for k in ANSWER_COLUMNS}
    ordered = sorted(rows.values(), key=lambda r: (r.split, Duration.parse(r.duration)))
    no_clips = [f"{r.split}/{r.duration}" for r in ordered if r.planned == r.empty]
    short = [
        f"{p.split}/{p.sequence}: {', '.join(d for d, n in p.clips.items() if n == 0)}"
        for p in plans
        if 0 in p.clips.values()
    ]
    total = _total(ordered, kinds)
    return BuildStatus(ordered, total, running(state), len(plans), short, no_clips, kinds)


def _row(rows: dict[tuple[str, str], StatusRow], split: str, duration: str) -> StatusRow:
    return rows.setdefault((split, duration), StatusRow(split, duration))


def _count_done(
    rows: dict[tuple[str, str], StatusRow], state: StateLayout, kinds: list[str]
) -> None:
    """Finished and empty clips per row, each clip's kinds merged over its work units."""
    by_clip: dict[tuple[str, str, str, int], set[str]] = {}
    empty: set[tuple[str, str, str, int]] = set()
    for split, sequence, path in state.manifest_files():
        for entry in read_rows(path):
            key = (split, sequence, entry["duration"], entry["clip"])
            by_clip.setdefault(key, set()).update(entry["components"])
            if entry["num_events"] == 0:
                empty.add(key)
    for (split, _, duration, _), done in by_clip.items():
        row = _row(rows, split, duration)
        for kind in done & set(kinds):
            row.done[kind] = row.done.get(kind, 0) + 1
    for split, _, duration, _ in empty:
        rows[(split, duration)].empty += 1


def _total(rows: list[StatusRow], kinds: list[str]) -> StatusRow:
    total = StatusRow("all", "", done=dict.fromkeys(kinds, 0))
    for row in rows:
        total.planned += row.planned
        total.empty += row.empty
        for kind in kinds:
            total.done[kind] += row.done.get(kind, 0)
        for name, count in row.answers.items():
            total.answers[name] = total.answers.get(name, 0) + count
    return total


def _cells(row: StatusRow, kinds: list[str], answers: bool) -> list[str]:
    cells = [row.split, row.duration, f"{row.planned:,}", f"{row.empty:,}"]
    cells += [f"{row.done.get(c, 0):,} {row.percent(c):5.1f}%" for c in kinds]
    if answers:
        cells += [f"{row.answers[c]:,}" if row.answers else "-" for c in ANSWER_COLUMNS]
    return cells


def _lines(status: BuildStatus) -> list[list[str]]:
    """The header, one line per row, and the total."""
    answers = any(r.answers for r in status.rows)
    header = ["split", "duration", "clips", "empty", *status.kinds]
    header += list(ANSWER_COLUMNS) if answers else []
    return [header, *(_cells(r, status.kinds, answers) for r in [*status.rows, status.total])]


def format_table(status: BuildStatus) -> str:
    return "\n".join(text_table(_lines(status)) + _footer(status))


def format_markdown(status: BuildStatus) -> str:
    lines = _lines(status)
    out = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(lines[0])]
    out += ["| " + " | ".join(line) + " |" for line in lines[1:]]
    return "\n".join([*out, "", *_footer(status)])


def _footer(status: BuildStatus) -> list[str]:
    lines = [f"sequences planned: {status.sequences:,}"]
    lines.append("in progress: " + (", ".join(status.running) if status.running else "none"))
    for entry in status.short:
        lines.append(f"too short for: {entry}")
    if status.no_clips:
        lines.append("no clips, so no JSON files: " + ", ".join(status.no_clips))
    return lines
