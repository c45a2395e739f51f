"""What answering the full DSEC costs on a GPU: requests, prompt tokens, prefilled tokens
and time, per setting, from ``dsec_sequences.csv`` (every sequence's real length) and the
build's own clip planning, with the token rules of ``annotate --dry-run``.

Every clip is assumed to have events (the plan's clips), DSEC's 1440x1080 frames at
20 Hz, 5 event images of 640x480 and an MP4 (clips of 8 frames or more). Time is at
``--prefill-tokens-per-s`` (default 10,000: a stated assumption for Qwen2.5-VL-7B on
one data-centre GPU; scale the column by your server's own figure).

Run: .venv/bin/python benchmarks/annotate_cost_full_dsec.py [--prefill-tokens-per-s N]
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import replace
from pathlib import Path

import numpy as np

from egpt_dsec.answers.cost import AskPlan, ClipShape, CostRow, estimate
from egpt_dsec.answers.prompts import DEFAULT_TEMPLATE, LEGACY_TEMPLATE
from egpt_dsec.answers.questions import DEFAULT_QUESTIONS
from egpt_dsec.config import BuildConfig

HERE = Path(__file__).resolve().parent
FRAME_HZ = 20
MIN_VIDEO_FRAMES = 8

BEST = AskPlan(
    "qwen2.5-vl",
    frames=8,
    event_images=True,
    max_side=336,
    questions=DEFAULT_QUESTIONS,
    template=DEFAULT_TEMPLATE,
)
SETTINGS: list[tuple[str, AskPlan, bool]] = [  # name, plan, prefix reuse counted
    (
        "before: best, 8 frames + 5 event images, 1440x1080, no prefix reuse",
        replace(BEST, max_side=None),
        False,
    ),
    (
        "best, 8 frames + 5 event images, `--image-size original`",
        replace(BEST, max_side=None),
        True,
    ),
    ("**best, 8 frames + 5 event images (default size 336)**", BEST, True),
    ("best, 8 frames (no `--event-images`)", replace(BEST, event_images=False), True),
    ("best, `--image-size 448`, 8 frames + 5 event images", replace(BEST, max_side=448), True),
    ("one, 8 frames + 5 event images", replace(BEST, asked_per_clip=1), True),
    ("best, `--video` (32 frames sampled) + 5 event images", replace(BEST, video=True), True),
    (
        "`--preset legacy` (1 frame, 1440x1080)",
        replace(
            BEST,
            frames=1,
            reference_only=True,
            event_images=False,
            max_side=None,
            labels=False,
            template=LEGACY_TEMPLATE,
        ),
        True,
    ),
    ("Qwen3-VL, best, 8 frames + 5 event images", replace(BEST, family="qwen3-vl"), True),
    ("LLaVA-1.5, best, 8 frames + 5 event images", replace(BEST, family="llava"), True),
]


def sequences(path: Path) -> list[tuple[str, float]]:
    """(split, seconds) of every sequence; the test ones at the train mean event rate."""
    rows = list(csv.DictReader(path.open()))
    timed = [r for r in rows if r["duration_s"]]
    rate = sum(int(r["left_events"]) for r in timed) / sum(float(r["duration_s"]) for r in timed)
    return [
        (r["split"], float(r["duration_s"]) if r["duration_s"] else int(r["left_events"]) / rate)
        for r in rows
    ]


def clip_shapes(path: Path) -> list[ClipShape]:
    config = BuildConfig(dsec_root=Path("dsec"), out=Path("out"))
    shapes = []
    for split, seconds in sequences(path):
        step = 1_000_000 // FRAME_HZ
        timestamps = np.arange(int(seconds * FRAME_HZ) + 1, dtype=np.int64) * step
        for clip in config.plan_sequence(timestamps).clips:
            frames = clip.frame_stop - clip.frame_start
            shapes.append(
                ClipShape(
                    split,
                    clip.duration.label,
                    frames,
                    (1440, 1080),
                    event_images=5,
                    has_mp4=frames >= MIN_VIDEO_FRAMES,
                    video_size=(1440, 1080),
                )
            )
    return shapes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=HERE / "dsec_sequences.csv")
    parser.add_argument("--prefill-tokens-per-s", type=float, default=10_000.0)
    args = parser.parse_args()
    shapes = clip_shapes(args.csv)
    rate = args.prefill_tokens_per_s
    print(f"{len(shapes):,} clips; time at {rate:,.0f} prefilled tokens/s\n")
    print(
        "| setting (Qwen2.5-VL unless named) | requests | prompt tokens | tokens/request "
        "| prefilled tokens | time |"
    )
    print("|---|---|---|---|---|---|")
    for name, plan, reuse in SETTINGS:
        total: CostRow = estimate(plan, shapes, rate).total
        prefilled = total.prefilled_tokens if reuse else total.prompt_tokens
        print(
            f"| {name} | {total.requests:,} | {total.prompt_tokens / 1e9:.2f} G "
            f"| {total.tokens_per_request:,.0f} | {prefilled / 1e9:.3f} G "
            f"| {_time(prefilled / rate)} |"
        )


def _time(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds < 3 * 86400 else f"{seconds / 86400:.1f} days"


if __name__ == "__main__":
    main()
