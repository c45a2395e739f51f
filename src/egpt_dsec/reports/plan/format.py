"""The plan for people (a table) and for scripts (JSON with top-level ``clips`` and
``bytes``)."""

from __future__ import annotations

import json

from egpt_dsec.kinds import KIND_NAMES
from egpt_dsec.progress import format_eta
from egpt_dsec.reports.plan.collect import BuildEstimate
from egpt_dsec.reports.plan.cost import Row


def size(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


def _cells(row: Row) -> list[str]:
    return [
        row.split, row.duration, f"{row.clips + row.empty:,}", f"{row.empty:,}",
        f"{sum(row.files.values()):,}", *(size(row.bytes[k]) for k in KIND_NAMES),
        size(sum(row.bytes.values())),
    ]  # fmt: skip


def format_plan(e: BuildEstimate) -> str:
    header = ["split", "duration", "clips", "empty", "files", *KIND_NAMES, "total"]
    lines = [header, *(_cells(r) for r in e.rows), _cells(e.total)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [
        "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    text.insert(1, "-" * len(text[0]))
    text.insert(len(text) - 1, "-" * len(text[0]))
    return "\n".join([*text, "", summary(e), *(f"cannot plan {f}" for f in e.failures)])


def summary(e: BuildEstimate) -> str:
    """One line: the size against the free space, and the time on this machine."""
    free = "unknown free space" if e.free_bytes is None else f"{size(e.free_bytes)} free"
    verdict = "" if e.fits else " (DOES NOT FIT)"
    return (
        f"plan: {e.windows:,} clips, {sum(e.total.files.values()):,} files, "
        f"{size(e.bytes)} of {free}{verdict}; about {format_eta(e.seconds)} on this "
        f"machine ({e.cores} cores: CPU floor {format_eta(e.cpu_seconds / e.cores)}, "
        f"disk floor {format_eta(e.disk_seconds)})"
    )


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
        "cores": e.cores,
        "rows": [row(r) for r in e.rows],
        "failures": e.failures,
    }
    return json.dumps(data, indent=1)
