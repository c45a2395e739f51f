"""``egpt-dsec status``: planned and finished clips per split, duration and kind, the
answers (answered, kept, filtered, failed) once ``annotate`` has run, and what asking
costs (requests and prompt tokens, as ``annotate --dry-run`` counts them).

It reads only the small state files of the build (plans, manifests, provenance), so it
answers in well under a second even for 100,000 clips.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from egpt_dsec.answers.cost import cost_json
from egpt_dsec.config.record import recorded_config
from egpt_dsec.durations import Duration
from egpt_dsec.humanize import markdown_table, text_table
from egpt_dsec.kinds import JSON, KINDS, MP4, VIDEO
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.reports.answer_cost import output_cost
from egpt_dsec.reports.answer_counts import annotation_status
from egpt_dsec.reports.label_status import label_groups, label_lines
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
    no_frame: int = 0  # clips with events but no frame (windows shorter than 50 ms)
    no_mp4: int = 0  # clips with events but under --min-video-frames: no MP4
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
    # annotate's cost for the answer settings in force (or its defaults): requests, tokens
    answer_cost: dict[str, Any] = field(default_factory=dict)
    labels: list[dict] = field(default_factory=list)  # label-qa's summary per split, duration

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
    status = BuildStatus(
        ordered, total, running(state), len(plans), short, no_clips, kinds,
        labels=label_groups(out),
    )  # fmt: skip
    status.answer_cost = _answer_cost(out) if JSON.name in asked else {}
    return status


def _answer_cost(out: Path) -> dict[str, Any]:
    """The figures of ``annotate --dry-run`` for the settings in force; {} when the build
    has no finished clip yet."""
    try:
        table, model, family = output_cost(out)
    except (OSError, ValueError) as exc:
        return {"error": str(exc)}
    if not table.total.requests:
        return {}
    return {"model": model, "family": family, **cost_json(table)}


def _row(rows: dict[tuple[str, str], StatusRow], split: str, duration: str) -> StatusRow:
    return rows.setdefault((split, duration), StatusRow(split, duration))


def _count_done(
    rows: dict[tuple[str, str], StatusRow], state: StateLayout, kinds: list[str]
) -> None:
    """Finished, empty and frameless clips per row, each clip's kinds merged over its work
    units."""
    by_clip: dict[tuple[str, str, str, int], set[str]] = {}
    frames: dict[tuple[str, str, str, int], int] = {}  # clips with events -> their frames
    for split, sequence, path in state.manifest_files():
        for entry in read_rows(path):
            key = (split, sequence, entry["duration"], entry["clip"])
            by_clip.setdefault(key, set()).update(entry["components"])
            if entry["num_events"]:
                frames[key] = entry["frame_stop"] - entry["frame_start"]
    for (split, _, duration, _), done in by_clip.items():
        row = _row(rows, split, duration)
        for kind in done & set(kinds):
            row.done[kind] = row.done.get(kind, 0) + 1
    for key in by_clip.keys() - frames.keys():
        rows[(key[0], key[2])].empty += 1
    if not frames:
        return
    # Whether a clip got a kind's files is the kind's own rule, with the options it was
    # built with (a manifest with clips comes from a build that recorded them).
    video, mp4 = (k.options_of(recorded_config(state, k.name)) for k in (VIDEO, MP4))
    for (split, _, duration, _), count in frames.items():
        rows[(split, duration)].no_frame += not VIDEO.writes_for(count, video)
        rows[(split, duration)].no_mp4 += not MP4.writes_for(count, mp4)


def _total(rows: list[StatusRow], kinds: list[str]) -> StatusRow:
    total = StatusRow("all", "", done=dict.fromkeys(kinds, 0))
    for row in rows:
        total.planned += row.planned
        total.empty += row.empty
        total.no_frame += row.no_frame
        total.no_mp4 += row.no_mp4
        for kind in kinds:
            total.done[kind] += row.done.get(kind, 0)
        for name, count in row.answers.items():
            total.answers[name] = total.answers.get(name, 0) + count
    return total


def _short(status: BuildStatus) -> list[str]:
    """Columns for clips without frames or MP4s, shown when short windows made some."""
    found = ["no frame"] if status.total.no_frame else []
    return found + (["no mp4"] if status.total.no_mp4 and MP4.name in status.kinds else [])


def _cells(row: StatusRow, status: BuildStatus, answers: bool) -> list[str]:
    cells = [row.split, row.duration, f"{row.planned:,}", f"{row.empty:,}"]
    short = {"no frame": row.no_frame, "no mp4": row.no_mp4}
    cells += [f"{short[c]:,}" for c in _short(status)]
    cells += [f"{row.done.get(c, 0):,} {row.percent(c):5.1f}%" for c in status.kinds]
    if answers:
        cells += [f"{row.answers[c]:,}" if row.answers else "-" for c in ANSWER_COLUMNS]
    return cells


def _lines(status: BuildStatus) -> list[list[str]]:
    """The header, one line per row, and the total."""
    answers = any(r.answers for r in status.rows)
    header = ["split", "duration", "clips", "empty", *_short(status), *status.kinds]
    header += list(ANSWER_COLUMNS) if answers else []
    return [header, *(_cells(r, status, answers) for r in [*status.rows, status.total])]


def format_table(status: BuildStatus) -> str:
    return "\n".join(text_table(_lines(status)) + _footer(status))


def format_markdown(status: BuildStatus) -> str:
    return "\n".join([*markdown_table(_lines(status)), "", *_footer(status)])


def _footer(status: BuildStatus) -> list[str]:
    lines = [f"sequences planned: {status.sequences:,}"]
    lines.append("in progress: " + (", ".join(status.running) if status.running else "none"))
    for entry in status.short:
        lines.append(f"too short for: {entry}")
    if status.no_clips:
        lines.append("no clips, so no JSON files: " + ", ".join(status.no_clips))
    if status.total.no_frame:
        lines.append(
            f"{status.total.no_frame:,} clips hold no frame (windows shorter than the frame "
            "interval): their events, images and tensors are written, no frame folder, no MP4"
        )
    if status.total.no_mp4 and MP4.name in status.kinds:
        lines.append(
            f"{status.total.no_mp4:,} clips have fewer frames than --min-video-frames: no MP4 "
            "and no Video-LLaVA entry"
        )
    cost = status.answer_cost
    if cost.get("requests"):
        lines.append(
            f"answers with {cost['model']} ({cost['family']} image tokens): "
            f"{cost['requests']:,} requests, "
            f"{cost['prompt_tokens']:,} prompt tokens, {cost['prefilled_tokens']:,} prefilled "
            "with prefix reuse (per group and time: egpt-dsec annotate --dry-run)"
        )
    return lines + label_lines(status.labels)
