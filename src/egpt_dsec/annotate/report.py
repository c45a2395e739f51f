"""The text the CLI prints after a run (the library returns numbers, this words them)."""

from __future__ import annotations

from egpt_dsec.annotate.run import AnnotateConfig, AnnotateReport
from egpt_dsec.humanize import format_bytes


def format_report(report: AnnotateReport, config: AnnotateConfig) -> str:
    lines = []
    if report.exported is not None:
        e = report.exported
        lines.append(
            f"exported {e.requests} requests for {report.clips_asked} clips into "
            f"{len(e.files)} file(s) in {config.export_batch} ({format_bytes(e.bytes)})"
        )
        lines += [f"  {path.name}" for path in e.files]
        lines.append("run them (OpenAI Batch API or vllm run-batch), then --import-batch")
        return "\n".join(lines)
    if report.imported is not None:
        i = report.imported
        lines.append(
            f"imported {i.answered} answers, {i.failed} failed, {i.already} already answered, "
            f"{i.unknown} for other clips, {i.unreadable} unreadable lines"
        )
    if report.online is not None:
        o, c = report.online, report.cache
        lines.append(
            f"asked {o.requests} requests for {report.clips_asked} clips: {o.answered} answered, "
            f"{o.failed} failed, {o.attempts - o.requests} retries, {o.tokens} tokens; images "
            f"encoded {c.misses}, reused {c.hits}"
        )
    if report.unscored:
        lines.append(
            f"note: the server returned no logprobs for {report.unscored} clip(s): their "
            "confidence is null and --min-confidence does not filter them"
        )
    for (split, duration), g in sorted(report.groups.items()):
        reasons = ", ".join(f"{r} {n}" for r, n in g["filtered_by_reason"].items() if n)
        lines.append(
            f"{split}/{duration}: {g['clips']} clips, {g['kept']} kept, {g['filtered']} "
            f"filtered{f' ({reasons})' if reasons else ''}, {g['failed']} failed, "
            f"{g['unanswered']} not yet asked"
        )
    return "\n".join(lines)
