"""``egpt-dsec annotate``: arguments in, a config to the library, the outcome printed.

The main CLI adds the subcommand with ``add_annotate_arguments`` and calls
``run_annotate``; ``python -m egpt_dsec.annotate`` does the same on its own.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from egpt_dsec import argtypes
from egpt_dsec.annotate.client import ClientOptions
from egpt_dsec.annotate.estimate import EstimateOptions, ask_plan, dry_run, format_estimate
from egpt_dsec.annotate.images import DETAILS, IMAGE_FORMATS, ImageOptions, parse_image_size
from egpt_dsec.annotate.progress import BarProgress, LogProgress, Progress
from egpt_dsec.annotate.prompt import (
    DEFAULT_TEMPLATE,
    EVEN,
    IMAGE_IDX,
    LEGACY_TEMPLATE,
    load_template,
)
from egpt_dsec.annotate.report import format_report
from egpt_dsec.annotate.run import AnnotateConfig, annotate
from egpt_dsec.annotate.settings import AnswerSettings
from egpt_dsec.answers.errors import AnnotateError
from egpt_dsec.answers.questions import DEFAULT_QUESTIONS, load_questions
from egpt_dsec.answers.select import SELECT_MODES
from egpt_dsec.answers.tokens import FAMILIES

# What a flag left out means: the defaults, or --preset legacy (the replaced script's
# request: the clip's image_idx frame alone at its size, its prompt, 128 tokens, 0.5).
PRESETS: dict[str, dict[str, object]] = {
    "default": {"frames": 8, "max_tokens": 256, "min_confidence": 0.9, "image_size": "336"},
    "legacy": {"frames": 1, "max_tokens": 128, "min_confidence": 0.5, "image_size": "original"},
}


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _labels(text: str) -> tuple[str, ...]:
    """Duration labels as the build names them (``1000ms`` is ``1s``)."""
    return tuple(d.label for d in argtypes.durations(text))


def add_annotate_arguments(parser: argparse.ArgumentParser) -> None:
    """The annotate options; names are kept stable for the scripts that use them."""
    a = parser.add_argument
    a("--out", type=Path, required=True, help="the built output folder")
    a("--endpoint", help="OpenAI-compatible base URL, e.g. http://gpu-box:8000/v1")
    a(
        "--preset",
        choices=tuple(PRESETS),
        default="default",
        help="legacy: the replaced script's request (the clip's image_idx frame, its prompt, "
        "128 tokens, --min-confidence 0.5); flags given still win",
    )
    a("--model", required=True, help="served model name, e.g. Qwen/Qwen2.5-VL-7B-Instruct")
    a("--api-key-env", default="OPENAI_API_KEY", help="env variable holding the key")
    a("--concurrency", type=int, default=16, help="requests in flight (16)")
    _add_prompt_arguments(parser)
    a("--min-confidence", type=float, help="keep clips at or above (0.9)")
    a("--keep-truncated", action="store_true", help="let answers cut at --max-tokens be kept")
    a("--max-tokens", type=int, help="answer length cap (256)")
    a("--temperature", type=float, default=0.0, help="sampling temperature (0: greedy)")
    a("--seed", type=int, default=0, help="sampling seed sent with every request (0)")
    a(
        "--image-size",
        help="WIDTHxHEIGHT, a max side, or original (336: 1440x1080 frames go as 336x252)",
    )
    a("--image-format", choices=IMAGE_FORMATS, default="jpeg", help="(jpeg)")
    a("--image-detail", choices=DETAILS, help="OpenAI's image detail, sent when given")
    a("--prompt-template", type=Path, help="template file ({images}, {question}, ...)")
    a("--timeout", type=float, default=300.0, help="seconds per request (300)")
    a("--retries", type=int, default=5, help="retries per request (5)")
    a("--rpm", type=float, help="requests-per-minute cap (none)")
    a("--splits", type=_csv, help="e.g. train,test (all)")
    a("--durations", type=_labels, help="e.g. 1s,2s (all built)")
    a("--sequences", type=_csv, help="ask only these sequences (all)")
    a("--limit", type=int, help="ask at most N clips in this run")
    a("--reanswer", action="store_true", help="accept changed model/prompt/settings")
    a("--export-batch", type=Path, metavar="DIR", help="write Batch API request files")
    _add_cost_arguments(parser)
    a(
        "--import-batch",
        type=Path,
        action="extend",
        nargs="+",
        default=[],
        metavar="RESULTS",
        help="merge Batch API result files",
    )


def _add_prompt_arguments(parser: argparse.ArgumentParser) -> None:
    """What the model is shown and asked."""
    a = parser.add_argument
    a("--frames", type=int, help="camera frames per clip, sampled evenly (8)")
    a("--event-images", action="store_true", help="also show the clip's event images")
    a("--video", action="store_true", help="send the clip's MP4 as one video_url part")
    a(
        "--with-labels",
        action="store_true",
        help="list the clip's labelled objects (class, position, motion; from "
        "egpt-dsec label-qa) in the prompt, after the images",
    )
    a("--questions", type=Path, help="text file, one question per line (EventGPT's 10)")
    a(
        "--select",
        choices=SELECT_MODES,
        default="best",
        help="best: ask all, keep the most confident; one: one question per clip; "
        "all: keep every answer as turns (best)",
    )


def _add_cost_arguments(parser: argparse.ArgumentParser) -> None:
    """``--dry-run`` and what its figures depend on."""
    a = parser.add_argument
    a("--dry-run", action="store_true", help="print the requests, tokens and time; ask nothing")
    a("--format", choices=("table", "json"), default="table", help="of --dry-run (table)")
    a("--prefill-tokens-per-s", type=float, help="the server's prompt throughput, for the time")
    a("--model-family", choices=FAMILIES, help="the image-token rule (default: from --model)")
    a("--video-frames", type=int, default=32, help="frames the server samples of a video (32)")


def _preset(args: argparse.Namespace, name: str) -> Any:
    """A flag's value, else the preset's."""
    value = getattr(args, name)
    return PRESETS[args.preset][name] if value is None else value


def settings_from_args(args: argparse.Namespace) -> AnswerSettings:
    legacy = args.preset == "legacy"
    size, max_side = parse_image_size(str(_preset(args, "image_size")))
    if args.prompt_template:
        template = load_template(args.prompt_template)
    else:
        template = LEGACY_TEMPLATE if legacy else DEFAULT_TEMPLATE
    image = ImageOptions(args.image_format, size, max_side, args.image_detail)
    return AnswerSettings(
        model=args.model,
        prompt_template=template,
        frames=int(_preset(args, "frames")),
        event_images=args.event_images,
        image=image,
        temperature=args.temperature,
        max_tokens=int(_preset(args, "max_tokens")),
        seed=args.seed,
        video=args.video,
        with_labels=args.with_labels,
        labels=not legacy,
        frame_pick=IMAGE_IDX if legacy and args.frames is None else EVEN,
    )


def config_from_args(args: argparse.Namespace) -> AnnotateConfig:
    settings = settings_from_args(args)
    client = None
    if args.endpoint and not (args.export_batch or args.import_batch or args.dry_run):
        client = ClientOptions(
            endpoint=args.endpoint,
            api_key=os.environ.get(args.api_key_env) or None,
            api_key_env=args.api_key_env,
            timeout_s=args.timeout,
            retries=args.retries,
            rpm=args.rpm,
            concurrency=args.concurrency,
        )
    return AnnotateConfig(
        out=args.out,
        settings=settings,
        questions=load_questions(args.questions) if args.questions else DEFAULT_QUESTIONS,
        select=args.select,
        min_confidence=float(_preset(args, "min_confidence")),
        keep_truncated=args.keep_truncated,
        dry_run=args.dry_run,
        client=client,
        export_batch=args.export_batch,
        import_batch=tuple(args.import_batch),
        splits=args.splits,
        durations=args.durations,
        sequences=args.sequences,
        limit=args.limit,
        reanswer=args.reanswer,
    )


def run_annotate(args: argparse.Namespace) -> int:
    """0 when every clip is answered, 1 when some requests failed (re-run to retry them),
    2 on bad input, 130 when interrupted."""
    try:
        config = config_from_args(args)
        if config.dry_run:
            return _dry_run(args, config)
        progress: Progress = BarProgress() if sys.stderr.isatty() else LogProgress()
        report = annotate(config, progress)
    except AnnotateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: every finished answer is in the answers log and the JSON "
            "files hold them; run the same command again to ask the rest",
            file=sys.stderr,
        )
        return 130
    print(format_report(report, config))
    if report.failed:
        print(
            f"{report.failed} clip(s) have failed requests (recorded with the server's "
            "message): run the same command again to retry them",
            file=sys.stderr,
        )
        return 1
    return 0


def _dry_run(args: argparse.Namespace, config: AnnotateConfig) -> int:
    """Print the cost; no server is asked anything, nothing is written."""
    options = EstimateOptions(
        args.model_family, args.prefill_tokens_per_s, args.video_frames, args.format
    )
    plan = ask_plan(config.settings, config.questions, config.select, options)
    selection = (config.splits, config.durations, config.sequences)
    table = dry_run(config.out, plan, selection, options)
    print(format_estimate(table, plan, config.settings.model, options.format))
    return 0
