"""How many prompt tokens an image or a video costs, per model family (pure).

- Qwen2-VL / Qwen2.5-VL: the image is resized to multiples of 28 px (14 px patches,
  2x2 merged) with its area kept within ``min_pixels``..``max_pixels`` (the models'
  ``preprocessor_config.json``: 3,136 and 12,845,056), then one token per 28x28 block:
  a 1440x1080 frame is 1,989 tokens, 640x480 391. Videos: two frames a token block
  (temporal patch 2), each frame within the video processor's 128..768 blocks.
- Qwen3-VL: the same rule with 16 px patches (32 px blocks), 65,536..16,777,216 pixels;
  a video's pixel budget (25,165,824) is over all its frames.
- LLaVA-1.5: 576 tokens per image (336 px, 14 px patches); no video.
- Video-LLaVA: 256 per image (224 px), a video is 8 frames of 257.
- OpenAI (gpt-4o, gpt-4.1, o-series, gpt-5): ``detail: low`` is 85 tokens; ``high`` (and
  ``auto``, counted as high) fits the image in 2048x2048, scales its short side down to
  768, then 85 + 170 per 512 px tile.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

FAMILIES = ("qwen2-vl", "qwen2.5-vl", "qwen3-vl", "llava", "video-llava", "openai")
OPENAI_REASONING = re.compile(r"(^|/)(o\d|gpt-5)", re.IGNORECASE)
_NAMES = (  # the first pattern found in the model name decides its family
    ("qwen3-vl", re.compile(r"qwen3[-_.]?(\d+(\.\d+)?[-_])?vl", re.IGNORECASE)),
    ("qwen2.5-vl", re.compile(r"qwen2[._]5[-_]?vl", re.IGNORECASE)),
    ("qwen2-vl", re.compile(r"qwen2[-_]?vl|qvq", re.IGNORECASE)),
    ("video-llava", re.compile(r"video[-_]?llava", re.IGNORECASE)),
    ("llava", re.compile(r"llava", re.IGNORECASE)),
    ("openai", re.compile(r"(^|/)(gpt-4o|gpt-4\.1|gpt-4-turbo|gpt-5|o\d)", re.IGNORECASE)),
)


def family_of(model: str) -> str | None:
    """The family a served model name belongs to, or None when it names none we know."""
    for family, pattern in _NAMES:
        if pattern.search(model):
            return family
    return None


def is_openai_reasoning(model: str) -> bool:
    """o1, o3, o4-mini, gpt-5...: they take ``max_completion_tokens``, not ``max_tokens``,
    and neither a temperature other than 1 nor logprobs."""
    return bool(OPENAI_REASONING.search(model))


@dataclass(frozen=True)
class QwenRule:
    factor: int  # pixels per token block side: patch x merge
    min_pixels: int
    max_pixels: int
    video_min_pixels: int
    video_max_pixels: int
    video_budget_over_frames: bool  # Qwen3-VL: the video's max_pixels is over all frames


QWEN = {
    "qwen2-vl": QwenRule(28, 3_136, 12_845_056, 128 * 28 * 28, 768 * 28 * 28, False),
    "qwen2.5-vl": QwenRule(28, 3_136, 12_845_056, 128 * 28 * 28, 768 * 28 * 28, False),
    "qwen3-vl": QwenRule(32, 65_536, 16_777_216, 4_096, 25_165_824, True),
}
LLAVA_IMAGE_TOKENS = 576
VIDEO_LLAVA_IMAGE_TOKENS = 256
VIDEO_LLAVA_FRAMES = 8
VIDEO_LLAVA_FRAME_TOKENS = 257
OPENAI_BASE, OPENAI_TILE = 85, 170
QWEN_IMAGE_MARKS = 2  # <|vision_start|> and <|vision_end|> around each image or video


def smart_resize(
    height: int, width: int, factor: int, min_pixels: int, max_pixels: int
) -> tuple[int, int]:
    """The size a Qwen-VL processor resizes an image to: each side rounded to a multiple
    of ``factor``, the area scaled into ``min_pixels``..``max_pixels`` keeping the aspect."""
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def image_tokens(family: str, width: int, height: int, detail: str | None = None) -> int:
    """Prompt tokens of one image of ``width`` x ``height`` as the server receives it."""
    if family in QWEN:
        rule = QWEN[family]
        h, w = smart_resize(height, width, rule.factor, rule.min_pixels, rule.max_pixels)
        return (h // rule.factor) * (w // rule.factor) + QWEN_IMAGE_MARKS
    if family == "llava":
        return LLAVA_IMAGE_TOKENS
    if family == "video-llava":
        return VIDEO_LLAVA_IMAGE_TOKENS
    if family == "openai":
        return openai_image_tokens(width, height, detail)
    raise ValueError(f"unknown model family {family!r}; one of {FAMILIES}")


def openai_image_tokens(width: int, height: int, detail: str | None) -> int:
    if detail == "low":
        return OPENAI_BASE
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return OPENAI_BASE + OPENAI_TILE * math.ceil(w / 512) * math.ceil(h / 512)


def video_tokens(family: str, frames: int, width: int, height: int) -> int | None:
    """Prompt tokens of a video of ``frames`` frames (as the server samples them), or None
    when the family takes no video."""
    if family in QWEN:
        rule = QWEN[family]
        steps = math.ceil(frames / 2)  # two frames per temporal patch
        top = rule.video_max_pixels
        if rule.video_budget_over_frames:
            top = max(rule.factor**2, top // (2 * steps))
        h, w = smart_resize(height, width, rule.factor, rule.video_min_pixels, top)
        return steps * (h // rule.factor) * (w // rule.factor) + QWEN_IMAGE_MARKS
    if family == "video-llava":
        return VIDEO_LLAVA_FRAMES * VIDEO_LLAVA_FRAME_TOKENS
    if family == "openai" or family == "llava":
        return None
    raise ValueError(f"unknown model family {family!r}; one of {FAMILIES}")


def text_tokens(text: str) -> int:
    """Prompt tokens of ``text``, estimated: about 4 bytes of English a token (byte-pair
    tokenizers of Qwen, Llama and GPT-4o are within ~20% of this on such prose)."""
    return math.ceil(len(text.encode("utf-8")) / 4)
