"""``annotate --dry-run``: the cost of a run before it starts, from the output alone.

Requests, images and prompt tokens per split and duration for the model family that
``--model`` names (or ``--model-family``), and the time at ``--prefill-tokens-per-s``.
No server is asked anything; the clips' frames are not decoded (one header per sequence).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from egpt_dsec.annotate.settings import AnswerSettings
from egpt_dsec.answers.cost import AskPlan, CostTable, ask_plan_of, cost_json, cost_lines
from egpt_dsec.answers.errors import AnnotateError
from egpt_dsec.answers.tokens import FAMILIES
from egpt_dsec.humanize import text_table
from egpt_dsec.reports.answer_cost import Selection, cost_of


@dataclass(frozen=True)
class EstimateOptions:
    family: str | None = None  # --model-family: overrides what --model names
    prefill_tokens_per_s: float | None = None
    video_frames: int = 32  # frames the server samples from each MP4 (vLLM: 32)
    format: str = "table"

    def __post_init__(self) -> None:
        if self.family is not None and self.family not in FAMILIES:
            raise AnnotateError(f"--model-family must be one of {FAMILIES}, not {self.family}")
        if self.prefill_tokens_per_s is not None and self.prefill_tokens_per_s <= 0:
            raise AnnotateError("--prefill-tokens-per-s must be > 0")


def ask_plan(
    settings: AnswerSettings,
    questions: tuple[str, ...],
    select: str,
    options: EstimateOptions,
) -> AskPlan:
    family = options.family or settings.family
    if family is None:
        raise AnnotateError(
            f"--model {settings.model!r} names no model family whose image tokens are "
            f"known; name one with --model-family ({', '.join(FAMILIES)})"
        )
    return ask_plan_of(
        settings.to_json(), questions, select, settings.prompt_template, family,
        options.video_frames,
    )  # fmt: skip


def dry_run(
    out: Path,
    plan: AskPlan,
    selection: Selection,
    options: EstimateOptions,
) -> CostTable:
    table = cost_of(out, plan, selection, options.prefill_tokens_per_s)
    if not table.rows:
        raise AnnotateError(
            f"{out} has no built clip for these --splits/--durations; "
            "check them against egpt-dsec status"
        )
    return table


def format_estimate(table: CostTable, plan: AskPlan, model: str, format: str) -> str:
    if format == "json":
        return json.dumps({"model": model, "family": plan.family, **cost_json(table)}, indent=1)
    lines = [
        f"cost of answering with {model} ({plan.family} image tokens), nothing asked yet:",
        *text_table(cost_lines(table)),
        "prompt tokens: every request in full; prefilled: what the server computes when a "
        "clip's later questions reuse its cached image prefix (vLLM's prefix caching)",
    ]
    if table.prefill_tokens_per_s is None:
        lines.append("time: give --prefill-tokens-per-s (your server's prompt throughput)")
    else:
        lines.append(f"time at {table.prefill_tokens_per_s:,.0f} prefilled tokens/s")
    if plan.video:
        lines.append(f"videos: {plan.video_frames} frames sampled by the server (--video-frames)")
    return "\n".join(lines)
