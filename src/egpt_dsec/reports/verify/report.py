"""What verify found, and the table people read."""

from __future__ import annotations

from dataclasses import dataclass, field

from egpt_dsec.durations import Duration
from egpt_dsec.kinds import FILE_KIND_NAMES, JSON, LABEL_QA
from egpt_dsec.kinds.contexts import TEMP, ClipId, Problem

# Rows of the summary table besides the kinds: RECORDS counts the manifest's clip
# records, EMPTY the 0-event clips (which must have no files), TEMP the folders scanned
# for leftover temp files.
RECORDS, EMPTY = "records", "empty"
REPORT_COMPONENTS = (RECORDS, *FILE_KIND_NAMES, EMPTY, JSON.name, LABEL_QA.name, TEMP)

__all__ = ["EMPTY", "RECORDS", "REPORT_COMPONENTS", "TEMP", "ClipId", "Problem", "VerifyReport"]


@dataclass
class VerifyReport:
    checked: dict[str, int]  # component -> files (or clips, folders) checked
    problems: list[Problem]
    clips: int = 0
    running: list[str] = field(default_factory=list)  # builds seen running during verify

    def ok(self) -> bool:
        return not self.problems

    def bad(self, component: str) -> int:
        """Distinct bad paths of a component."""
        return len({p.path for p in self.problems if p.component == component})


def duration_order(label: str) -> int:
    """Durations sort by length, not by label text; a bad label sorts first."""
    try:
        return Duration.parse(label).us
    except ValueError:
        return -1


def report_order(p: Problem) -> tuple[str, int, str, int, int, str]:
    """Clip by clip, in output order, then by table row."""
    component = REPORT_COMPONENTS.index(p.component)
    return (p.split, duration_order(p.duration), p.sequence, p.clip, component, str(p.path))


def format_verify(report: VerifyReport, max_listed: int = 200) -> str:
    """A table (component, checked, bad) and the bad files, at most ``max_listed`` of them.
    A kind with nothing checked and nothing bad (one the build does not write) has no row."""
    rows = [("component", "checked", "bad")]
    rows += [
        (c, f"{n:,}", f"{report.bad(c):,}")
        for c, n in report.checked.items()
        if n or report.bad(c) or c == RECORDS
    ]
    w = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{c:<{w[0]}}  {n:>{w[1]}}  {b:>{w[2]}}" for c, n, b in rows]
    lines.insert(1, "-" * len(lines[0]))
    if report.running:
        lines.append(
            "warning: a build is running (" + ", ".join(report.running) + "); "
            "its temp files and the clips it has not yet recorded show up as problems"
        )
    if report.ok():
        lines.append(f"OK: {report.clips:,} clips checked, no problems")
        return "\n".join(lines)
    bad_files = len({p.path for p in report.problems})
    lines.append(f"{len(report.problems):,} problem(s) in {bad_files:,} file(s):")
    lines += [f"  [{p.component}] {p.path}: {p.what}" for p in report.problems[:max_listed]]
    if len(report.problems) > max_listed:
        lines.append(f"  ... and {len(report.problems) - max_listed:,} more")
    return "\n".join(lines)
