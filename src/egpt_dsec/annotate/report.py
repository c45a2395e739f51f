"""The text the CLI prints after a run (the library returns numbers, this words them)."""

from __future__ import annotations

from typing import Any

from egpt_dsec.annotate.run import AnnotateConfig, AnnotateReport
from egpt_dsec.durations import Duration
from egpt_dsec.humanize import format_bytes

REASONS = {
    "low_confidence": "confidence under {threshold}",
    "empty_answer": "empty answer",
    "truncated": "cut at --max-tokens",
    "refused": "refused",
}


def plural(count: int, word: str) -> str:
    """``1 clip``, ``2 clips``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def format_report(report: AnnotateReport, config: AnnotateConfig) -> str:
    if report.exported is not None:
        e = report.exported
        lines = [
            f"exported {plural(e.requests, 'request')} for {plural(report.clips_asked, 'clip')} "
            f"into {len(e.files)} file(s) in {config.export_batch} ({format_bytes(e.bytes)})"
        ]
        lines += [f"  {path.name}" for path in e.files]
        lines.append("run them (OpenAI Batch API or vllm run-batch), then --import-batch")
        return "\n".join(lines)
    lines = _asked(report)
    if report.unscored:
        lines.append(
            f"note: the server returned no logprobs for {plural(report.unscored, 'clip')}: "
            "their confidence is null and --min-confidence does not filter them"
        )
    groups = sorted(report.groups.items(), key=lambda g: (g[0][0], Duration.parse(g[0][1])))
    for (split, duration), g in groups:
        lines.append(f"{split}/{duration}: {_group(g, config.min_confidence)}")
    if report.groups:
        lines.append(_total(report.groups.values(), config))
    return "\n".join(lines)


def _asked(report: AnnotateReport) -> list[str]:
    lines = []
    if report.imported is not None:
        i = report.imported
        lines.append(
            f"imported {i.answered} answers, {i.failed} failed, {i.already} already answered, "
            f"{i.unknown} for other clips, {i.unreadable} unreadable lines"
        )
    if report.online is not None:
        o, c = report.online, report.cache
        lines.append(
            f"asked {plural(o.requests, 'request')} for {plural(report.clips_asked, 'clip')}: "
            f"{o.answered} answered ({o.refused} refused, {o.truncated} cut at --max-tokens), "
            f"{o.failed} failed, {o.retries} retries, {o.tokens} tokens; "
            f"images encoded {c.misses}, reused {c.hits}"
        )
        if o.cached_tokens:
            lines.append(
                f"prompt tokens {o.prompt_tokens:,}, of them {o.cached_tokens:,} "
                f"({100 * o.cached_tokens / max(o.prompt_tokens, 1):.0f}%) from the server's "
                "prefix cache"
            )
        for clip, why in sorted(o.unreadable.items()):
            lines.append(f"unreadable, not asked (rebuild it): {clip}: {why}")
    return lines


def _reasons(g: dict[str, Any], threshold: float) -> str:
    found = [
        f"{REASONS.get(r, r).format(threshold=threshold)} {n}"
        for r, n in g["filtered_by_reason"].items()
        if n
    ]
    return f" ({', '.join(found)})" if found else ""


def _group(g: dict[str, Any], threshold: float) -> str:
    return (
        f"{plural(g['clips'], 'clip')}, {g['kept']} kept, {g['filtered']} filtered"
        f"{_reasons(g, threshold)}, {g['failed']} failed, {g['unanswered']} not yet asked"
    )


def _total(groups: Any, config: AnnotateConfig) -> str:
    """How many clips the JSON files hold, how many were left out and why, the threshold."""
    groups = list(groups)
    total: dict[str, Any] = {k: sum(g[k] for g in groups) for k in ("clips", "kept", "filtered")}
    reasons: dict[str, int] = {}
    for g in groups:
        for reason, n in g["filtered_by_reason"].items():
            reasons[reason] = reasons.get(reason, 0) + n
    total["filtered_by_reason"] = reasons
    truncated = sum(g.get("truncated_answers", 0) for g in groups)
    cut = f"; {plural(truncated, 'answer')} cut at --max-tokens" if truncated else ""
    if truncated:
        cut += " (kept: --keep-truncated)" if config.keep_truncated else " (never chosen)"
    return (
        f"in the JSON files: {total['kept']:,} of {plural(total['clips'], 'clip')} kept, "
        f"{total['filtered']:,} filtered{_reasons(total, config.min_confidence)} at "
        f"--min-confidence {config.min_confidence:g}{cut}"
    )
