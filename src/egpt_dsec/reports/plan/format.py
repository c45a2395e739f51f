"""The plan for people (a table) and for scripts (JSON with top-level ``clips`` and
``bytes``)."""

from __future__ import annotations

import json

from egpt_dsec.humanize import format_bytes, format_duration, text_table
from egpt_dsec.reports.plan.collect import BuildEstimate
from egpt_dsec.reports.plan.cost import Row


def _cells(row: Row, kinds: tuple[str, ...]) -> list[str]:
    return [
        row.split, row.duration, f"{row.clips + row.empty:,}", f"{row.empty:,}",
        f"{sum(row.files.values()):,}", *(format_bytes(row.bytes[k]) for k in kinds),
        format_bytes(sum(row.bytes.values())),
    ]  # fmt: skip


def format_plan(e: BuildEstimate) -> str:
    """The table shows the kinds built; the JSON form every kind."""
    header = ["split", "duration", "clips", "empty", "files", *e.kinds, "total"]
    text = text_table([header, *(_cells(r, e.kinds) for r in e.rows), _cells(e.total, e.kinds)])
    return "\n".join([*text, "", summary(e), *(f"cannot plan {f}" for f in e.failures)])


def summary(e: BuildEstimate) -> str:
    """One line: the size against the free space, and the time on this machine."""
    free = "unknown free space" if e.free_bytes is None else f"{format_bytes(e.free_bytes)} free"
    verdict = "" if e.fits else " (DOES NOT FIT)"
    return (
        f"plan: {e.windows:,} clips, {sum(e.total.files.values()):,} files, "
        f"{format_bytes(e.bytes)} of {free}{verdict}; about {format_duration(e.seconds)} on this "
        f"machine ({_plural(e.workers, 'worker')} on {_plural(e.cores, 'core')}: CPU floor "
        f"{format_duration(e.cpu_floor)}, disk floor {format_duration(e.disk_seconds)})"
    )


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def plan_json(e: BuildEstimate) -> str:
    def row(r: Row) -> dict[str, object]:
        return {
            "split": r.split, "duration": r.duration, "clips": r.clips + r.empty,
            "empty": r.empty, "events": r.events, "files": dict(r.files),
            "bytes": {k: round(v) for k, v in r.bytes.items()},
        }  # fmt: skip

    data = {
        "clips": e.windows,
        "bytes": round(e.bytes),
        "files": sum(e.total.files.values()),
        "free_bytes": e.free_bytes,
        "fits": e.fits,
        "seconds": round(e.seconds, 1),
        "cpu_seconds": round(e.cpu_seconds, 1),
        "disk_seconds": round(e.disk_seconds, 1),
        "workers": e.workers,
        "cores": e.cores,
        "rows": [row(r) for r in e.rows],
        "failures": e.failures,
    }
    return json.dumps(data, indent=1)
