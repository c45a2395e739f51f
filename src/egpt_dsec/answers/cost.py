"""What answering a built dataset costs: requests, prompt tokens and prefill time per
split and duration (pure: shapes and settings in, figures out).

How tokens are counted. A request's prompt is its images (``answers.tokens``, after our
own resize to ``--image-size``), a video if any, and its text (template, labels,
question; ~4 bytes a token) plus the chat template's own tokens. *Prompt tokens* are
what the server bills or counts: every request in full. *Prefilled tokens* are what it
computes: with prefix reuse (vLLM's automatic prefix caching, on by default; OpenAI's
prompt caching), a clip's later questions find everything before the question already
computed, in whole blocks of 16 tokens, so each costs only its question and the rest of
its last block. ``--select one`` asks one question a clip: nothing to reuse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from egpt_dsec.answers.prompts import (
    EVENT_LABEL,
    EVENTS_LEGEND,
    FRAME_LABEL,
    FRAMES_LEGEND,
    IMAGE_IDX,
    STYLE_LEGENDS,
    VIDEO_LABEL,
    VIDEO_LEGEND,
)
from egpt_dsec.answers.tokens import (
    image_tokens,
    text_tokens,
    video_tokens,
)
from egpt_dsec.durations import Duration

CHAT_TOKENS = 24  # the chat template's tokens around one user turn (Qwen's system line)
CACHE_BLOCK = 16  # vLLM caches prefixes in whole blocks of this many tokens
SERVER_VIDEO_FRAMES = 32  # frames vLLM samples from a video (--media-io-kwargs num_frames)
Size = tuple[int, int]


def sent_size(width: int, height: int, size: Size | None, max_side: int | None) -> Size:
    """The size a ``width`` x ``height`` image is sent at: ``size``, or scaled down to
    ``max_side`` (never enlarged), or as it is."""
    if size is not None:
        return size
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


@dataclass(frozen=True)
class AskPlan:
    """What each request of a clip carries, as the answer settings say."""

    family: str
    frames: int = 8  # camera frames per request (spread evenly; fewer if the clip has fewer)
    reference_only: bool = False  # --preset legacy: the image_idx frame alone
    event_images: bool = False
    video: bool = False
    video_frames: int = SERVER_VIDEO_FRAMES
    size: Size | None = None
    max_side: int | None = None
    detail: str | None = None
    labels: bool = True
    questions: tuple[str, ...] = ()
    asked_per_clip: int = 10  # 10 with --select best or all, 1 with one
    template: str = ""
    event_style: str = "last"

    def sent(self, width: int, height: int) -> Size:
        """The size an image is sent at (never enlarged by a max side)."""
        return sent_size(width, height, self.size, self.max_side)


def ask_plan_of(
    settings: Mapping[str, Any],
    questions: tuple[str, ...],
    select: str,
    template: str,
    family: str,
    video_frames: int = SERVER_VIDEO_FRAMES,
) -> AskPlan:
    """The ask plan of answer settings in their recorded form (``AnswerSettings.to_json``),
    for a run about to start and for one recorded beside the output alike."""
    size, max_side = _size_of_label(str(settings.get("image_size", "original")))
    return AskPlan(
        family=family,
        frames=int(settings.get("frames", 8)),
        reference_only=settings.get("frame_pick") == IMAGE_IDX,
        event_images=bool(settings.get("event_images")),
        video=bool(settings.get("video")),
        video_frames=video_frames,
        size=size,
        max_side=max_side,
        detail=settings.get("image_detail"),
        labels=bool(settings.get("labels", True)),
        questions=questions,
        asked_per_clip=1 if select == "one" else len(questions),
        template=template,
    )


def _size_of_label(label: str) -> tuple[Size | None, int | None]:
    """``640x480`` -> a size, ``max336`` -> a max side, ``original`` -> neither."""
    if label.startswith("max"):
        return None, int(label[3:])
    if "x" in label:
        width, height = label.split("x")
        return (int(width), int(height)), None
    return None, None


@dataclass(frozen=True)
class ClipShape:
    """One built clip, as far as its cost goes."""

    split: str
    duration: str
    frames: int
    frame_size: Size
    event_images: int = 0
    event_size: Size = (640, 480)
    has_mp4: bool = False
    video_size: Size | None = None


@dataclass
class CostRow:
    split: str
    duration: str
    clips: int = 0
    requests: int = 0
    images: int = 0  # image parts over all requests (a video is one part)
    prompt_tokens: int = 0
    prefilled_tokens: int = 0

    def add(self, other: CostRow) -> None:
        for name in ("clips", "requests", "images", "prompt_tokens", "prefilled_tokens"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def images_per_request(self) -> float:
        return self.images / self.requests if self.requests else 0.0

    @property
    def tokens_per_request(self) -> float:
        return self.prompt_tokens / self.requests if self.requests else 0.0


@dataclass
class CostTable:
    rows: list[CostRow]
    total: CostRow
    prefill_tokens_per_s: float | None = None
    notes: list[str] = field(default_factory=list)

    def seconds(self, row: CostRow) -> float | None:
        rate = self.prefill_tokens_per_s
        return row.prefilled_tokens / rate if rate else None


def request_parts(plan: AskPlan, clip: ClipShape) -> tuple[int, int, str]:
    """(image parts, vision tokens, label and legend text) of one request of ``clip``."""
    parts, tokens, text = 0, 0, ""
    if plan.video:
        if clip.has_mp4:
            frames = min(clip.frames, plan.video_frames)
            w, h = clip.video_size or clip.frame_size
            tokens += video_tokens(plan.family, frames, w, h) or 0
            parts += 1
            text += VIDEO_LABEL.format(count=clip.frames) + VIDEO_LEGEND.format(fps=20)
    else:
        shown = 1 if plan.reference_only else min(clip.frames, plan.frames)
        w, h = plan.sent(*clip.frame_size)
        tokens += shown * image_tokens(plan.family, w, h, plan.detail)
        parts += shown
        text += FRAMES_LEGEND
        text += "".join(FRAME_LABEL.format(n=n + 1, count=shown, t=0) for n in range(shown))
    if plan.event_images and clip.event_images:
        w, h = plan.sent(*clip.event_size)
        tokens += clip.event_images * image_tokens(plan.family, w, h, plan.detail)
        parts += clip.event_images
        text += EVENTS_LEGEND.format(style=STYLE_LEGENDS.get(plan.event_style, ""))
        text += "".join(
            EVENT_LABEL.format(n=n + 1, count=clip.event_images) for n in range(clip.event_images)
        )
    return parts, tokens, text if plan.labels else ""


def clip_cost(plan: AskPlan, clip: ClipShape) -> CostRow:
    """The requests of one clip and their tokens, prompt and prefilled."""
    parts, vision, labels = request_parts(plan, clip)
    if not clip.frames or (plan.video and not clip.has_mp4):
        return CostRow(clip.split, clip.duration, clips=1)
    head = text_tokens(plan.template.split("{question}")[0] + labels) + CHAT_TOKENS
    prefix = vision + head
    questions = plan.questions or ("Describe the following scene.",)
    asked = [questions[i % len(questions)] for i in range(plan.asked_per_clip)]
    tails = [text_tokens(q) + 2 for q in asked]  # the question and the turn's end
    prompt = sum(prefix + t for t in tails)
    cached = (prefix // CACHE_BLOCK) * CACHE_BLOCK
    prefilled = prefix + tails[0] + sum(prefix - cached + t for t in tails[1:])
    return CostRow(clip.split, clip.duration, 1, len(asked), parts * len(asked), prompt, prefilled)


def estimate(
    plan: AskPlan, clips: Iterable[ClipShape], prefill_tokens_per_s: float | None = None
) -> CostTable:
    """Per split and duration (durations by length), and the total."""
    rows: dict[tuple[str, str], CostRow] = {}
    for clip in clips:
        row = rows.setdefault((clip.split, clip.duration), CostRow(clip.split, clip.duration))
        row.add(clip_cost(plan, clip))
    ordered = sorted(rows.values(), key=lambda r: (r.split, Duration.parse(r.duration)))
    total = CostRow("all", "")
    for row in ordered:
        total.add(row)
    return CostTable(ordered, total, prefill_tokens_per_s)


def cost_json(table: CostTable) -> dict[str, object]:
    """The figures for scripts: top-level ``requests`` and ``prompt_tokens``."""

    def row(r: CostRow) -> dict[str, object]:
        return {
            "split": r.split,
            "duration": r.duration,
            "clips": r.clips,
            "requests": r.requests,
            "images_per_request": round(r.images_per_request, 2),
            "prompt_tokens_per_request": round(r.tokens_per_request, 1),
            "prompt_tokens": r.prompt_tokens,
            "prefilled_tokens": r.prefilled_tokens,
            "seconds": table.seconds(r),
        }

    total = row(table.total)
    return {
        "requests": table.total.requests,
        "prompt_tokens": table.total.prompt_tokens,
        "prefilled_tokens": table.total.prefilled_tokens,
        "prefill_tokens_per_s": table.prefill_tokens_per_s,
        "seconds": total["seconds"],
        "groups": [row(r) for r in table.rows],
        "total": total,
        "notes": table.notes,
    }


def cost_lines(table: CostTable) -> list[list[str]]:
    """The header and one line per split and duration, then the total."""
    head = ["split", "duration", "clips", "requests", "images/req", "tokens/req"]
    head += ["prompt tokens", "prefilled tokens", "time"]
    lines = [head]
    for r in [*table.rows, table.total]:
        seconds = table.seconds(r)
        lines.append(
            [
                r.split,
                r.duration,
                f"{r.clips:,}",
                f"{r.requests:,}",
                f"{r.images_per_request:.1f}",
                f"{r.tokens_per_request:,.0f}",
                f"{r.prompt_tokens:,}",
                f"{r.prefilled_tokens:,}",
                "-" if seconds is None else _duration(seconds),
            ]
        )
    return lines


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
