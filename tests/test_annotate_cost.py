"""The cost known first: image tokens per model family (checked against the real image
processor of ``transformers``), ``annotate --dry-run`` without any connection, its JSON,
``status`` showing the same figures, and the default image size's saving."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from annotate_fixtures import CLIPS, annotate_args, output_copy, run_cli
from egpt_dsec.answers.cost import AskPlan, ClipShape, clip_cost, estimate
from egpt_dsec.answers.prompts import DEFAULT_TEMPLATE
from egpt_dsec.answers.questions import DEFAULT_QUESTIONS
from egpt_dsec.answers.tokens import (
    QWEN_IMAGE_MARKS,
    family_of,
    image_tokens,
    smart_resize,
    video_tokens,
)
from egpt_dsec.reports.status import collect_status, format_table
from fake_vlm_server import SERVED_MODEL, FakeVLMServer

QWEN = "Qwen/Qwen2.5-VL-7B-Instruct"
SIZES = [
    (1440, 1080),
    (640, 480),
    (336, 252),
    (448, 336),
    (64, 48),
    (28, 28),
    (4096, 3072),
    (5000, 200),
    (1001, 333),
    (57, 29),
    (2000, 1999),
    (3, 600),
]


def qwen_processor(family: str) -> Any:
    """The real image processor, from the models' preprocessor_config.json values (no
    weights, no network). transformers >= 5 runs it on NumPy and PIL alone."""
    module = pytest.importorskip("transformers.models.qwen2_vl.image_processing_pil_qwen2_vl")
    if family == "qwen3-vl":  # Qwen3-VL: 16 px patches, 65,536..16,777,216 pixels
        size = {"shortest_edge": 65_536, "longest_edge": 16_777_216}
        return module.Qwen2VLImageProcessorPil(size=size, patch_size=16)
    size = {"shortest_edge": 3_136, "longest_edge": 12_845_056}  # Qwen2-VL and Qwen2.5-VL
    return module.Qwen2VLImageProcessorPil(size=size)


@pytest.mark.parametrize("family", ["qwen2.5-vl", "qwen3-vl"])
def test_qwen_image_tokens_match_the_real_image_processor(family: str) -> None:
    import numpy as np

    processor = qwen_processor(family)
    for width, height in SIZES:
        pixels = np.zeros((height, width, 3), dtype=np.uint8)
        grid = processor(images=[pixels], return_tensors="np")["image_grid_thw"][0]
        merged = int(grid[0] * grid[1] * grid[2]) // processor.merge_size**2
        assert image_tokens(family, width, height) - QWEN_IMAGE_MARKS == merged, (width, height)


def test_qwen_grids_of_the_reference() -> None:
    """REFERENCE.md: 1440x1080 -> 78x102 patches (1,989 tokens), 640x480 -> 34x46 (391),
    written down again from the processor's documented rule."""
    assert smart_resize(1080, 1440, 28, 3_136, 12_845_056) == (78 * 14, 102 * 14)
    assert smart_resize(480, 640, 28, 3_136, 12_845_056) == (34 * 14, 46 * 14)
    assert image_tokens("qwen2.5-vl", 1440, 1080) == 1_989 + QWEN_IMAGE_MARKS
    assert image_tokens("qwen2-vl", 640, 480) == 391 + QWEN_IMAGE_MARKS
    assert image_tokens("qwen2.5-vl", 336, 252) == 108 + QWEN_IMAGE_MARKS


def test_llava_video_llava_and_openai_rules() -> None:
    assert image_tokens("llava", 1440, 1080) == image_tokens("llava", 64, 48) == 576
    assert image_tokens("video-llava", 1440, 1080) == 256
    assert video_tokens("video-llava", 320, 1440, 1080) == 8 * 257
    assert video_tokens("llava", 8, 64, 48) is None and video_tokens("openai", 8, 64, 48) is None
    assert image_tokens("openai", 1440, 1080, "low") == 85
    assert image_tokens("openai", 1440, 1080, "high") == 85 + 170 * 4  # 1024x768: 2x2 tiles
    assert image_tokens("openai", 336, 252, "auto") == 85 + 170  # one tile
    assert image_tokens("openai", 2048, 4096, None) == 1_105  # OpenAI's example: 768x1536


def test_qwen_video_tokens_pair_frames() -> None:
    # 1440x1080 frames within 768 blocks of 28 px: 24x32 blocks for each pair of frames.
    assert video_tokens("qwen2.5-vl", 32, 1440, 1080) == 16 * 24 * 32 + QWEN_IMAGE_MARKS
    assert video_tokens("qwen2.5-vl", 31, 1440, 1080) == 16 * 24 * 32 + QWEN_IMAGE_MARKS


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("Qwen/Qwen2.5-VL-7B-Instruct", "qwen2.5-vl"),
        ("Qwen/Qwen2-VL-72B-Instruct-AWQ", "qwen2-vl"),
        ("Qwen/Qwen3-VL-8B-Instruct", "qwen3-vl"),
        ("llava-hf/llava-1.5-7b-hf", "llava"),
        ("LanguageBind/Video-LLaVA-7B-hf", "video-llava"),
        ("gpt-4o-mini", "openai"),
        ("o3", "openai"),
        ("fake/vlm-7b", None),
    ],
)
def test_the_family_is_read_from_the_model_name(model: str, family: str | None) -> None:
    assert family_of(model) == family


def best_clip(max_side: int | None, family: str = "qwen2.5-vl") -> tuple[AskPlan, ClipShape]:
    plan = AskPlan(
        family,
        frames=8,
        event_images=True,
        max_side=max_side,
        questions=DEFAULT_QUESTIONS,
        template=DEFAULT_TEMPLATE,
    )
    return plan, ClipShape("train", "2s", 40, (1440, 1080), event_images=5)


def test_the_default_image_size_costs_a_tenth_of_full_resolution() -> None:
    """A --select best clip (8 frames, 5 event images, 10 questions) of DSEC's 1440x1080
    frames: today every request went in full at the frames' size."""
    today = clip_cost(*best_clip(None))
    default = clip_cost(*best_clip(336))
    assert today.prompt_tokens / today.requests > 8 * 1_989 + 5 * 391  # ~18,000 a request
    assert default.prefilled_tokens <= today.prompt_tokens / 10  # with prefix reuse: ~1/90
    assert default.prompt_tokens <= today.prompt_tokens / 10  # and even without it
    assert today.prefilled_tokens < today.prompt_tokens / 8  # reuse alone saves ~9/10


def test_select_one_reuses_nothing() -> None:
    plan, clip = best_clip(336)
    one = clip_cost(AskPlan(**{**plan.__dict__, "asked_per_clip": 1}), clip)
    assert one.requests == 1 and one.prompt_tokens == one.prefilled_tokens


class NoNetwork:
    """Every attempt to connect anywhere fails the test (the dry run must make none)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.attempts: list[Any] = []

        def refuse(sock: socket.socket, address: Any) -> None:
            self.attempts.append(address)
            raise AssertionError(f"the dry run connected to {address}")

        monkeypatch.setattr(socket.socket, "connect", refuse)
        monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture
def out(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return output_copy(tmp_path_factory, tmp_path)


def test_dry_run_reads_nothing_from_any_server_and_prints_each_group_and_the_total(
    out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    with FakeVLMServer() as server:
        guard = NoNetwork(monkeypatch)
        args = annotate_args(
            out,
            "--dry-run",
            "--model",
            QWEN,
            "--event-images",
            "--prefill-tokens-per-s",
            "1000",
            endpoint=server.url,
        )
        assert run_cli(args) == 0
        monkeypatch.undo()
        assert not guard.attempts and server.received == 0
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # nothing written
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines if line.startswith(("train ", "all "))]
    assert [r[:4] for r in rows[:2]] == [["train", "1s", "5", "50"], ["train", "2s", "2", "20"]]
    assert rows[2][:3] == ["all", "7", "70"]
    assert any(line.startswith("time at 1,000 prefilled tokens/s") for line in lines)


def dry_json(out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    capsys.readouterr()
    assert run_cli(annotate_args(out, "--dry-run", "--format", "json", *extra)) == 0
    return json.loads(capsys.readouterr().out)


def test_dry_run_json_has_requests_and_prompt_tokens_per_family(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qwen = dry_json(out, capsys, "--model", QWEN, "--prefill-tokens-per-s", "500")
    assert qwen["requests"] == 70 and qwen["family"] == "qwen2.5-vl"
    # 8 frames of 64x48 (never enlarged): Qwen makes 2x2 blocks of them, plus 2 marks.
    per_image = image_tokens("qwen2.5-vl", 64, 48)
    assert per_image == 4 + 2
    assert qwen["prompt_tokens"] == sum(g["prompt_tokens"] for g in qwen["groups"])
    assert qwen["prompt_tokens"] > 70 * 8 * per_image
    assert qwen["seconds"] == pytest.approx(qwen["prefilled_tokens"] / 500)
    llava = dry_json(out, capsys, "--model", "llava-hf/llava-1.5-7b-hf")
    assert llava["prompt_tokens"] - qwen["prompt_tokens"] == 70 * 8 * (576 - per_image)
    one = dry_json(out, capsys, "--model", QWEN, "--select", "one")
    assert one["requests"] == sum(CLIPS.values())
    video = dry_json(out, capsys, "--model", QWEN, "--video")
    assert video["total"]["images_per_request"] == 1.0


def test_an_unknown_family_is_one_line_naming_model_family(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(annotate_args(out, "--dry-run")) == 2  # fake/vlm-7b names no family
    err = capsys.readouterr().err.strip()
    assert "--model-family" in err and "\n" not in err
    assert dry_json(out, capsys, "--model-family", "qwen2-vl")["requests"] == 70


def test_status_shows_the_same_figures(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = dry_json(out, capsys, "--model", QWEN)  # the defaults: what status assumes
    status = collect_status(out)
    assert status.answer_cost["requests"] == expected["requests"]
    assert status.answer_cost["prompt_tokens"] == expected["prompt_tokens"]
    text = format_table(status)
    assert f"{expected['prompt_tokens']:,} prompt tokens" in text and QWEN in text
    with FakeVLMServer() as server:  # once annotated: the figures of its settings
        args = annotate_args(out, "--select", "one", "--min-confidence", "0", endpoint=server.url)
        assert run_cli(args) == 0
    assert collect_status(out).answer_cost["requests"] == sum(CLIPS.values())
    assert SERVED_MODEL in format_table(collect_status(out))


def test_estimate_sorts_durations_by_length() -> None:
    plan, _clip = best_clip(336)
    shapes = [ClipShape("train", d, 40, (1440, 1080)) for d in ("10s", "1s", "16s", "2s")]
    assert [r.duration for r in estimate(plan, shapes).rows] == ["1s", "2s", "10s", "16s"]
