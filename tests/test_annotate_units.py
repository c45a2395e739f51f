"""The pure parts of annotate: scores, selection, questions, prompt, bodies, pacing, log."""

from __future__ import annotations

import asyncio
import json
import math
import random
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from egpt_dsec.annotate.batch import custom_id, parse_custom_id
from egpt_dsec.annotate.body import BodyBuilder
from egpt_dsec.annotate.client import endpoint_host
from egpt_dsec.annotate.confidence import confidence_from_logprobs
from egpt_dsec.annotate.images import ImageCache, ImageOptions, parse_image_size
from egpt_dsec.annotate.model import ClipToAsk
from egpt_dsec.annotate.pacing import RateLimiter, backoff_delay, parse_retry_after
from egpt_dsec.annotate.prompt import DEFAULT_TEMPLATE, check_template, sample_indices
from egpt_dsec.annotate.response import MalformedResponse, parse_completion
from egpt_dsec.annotate.settings import AnswerSettings
from egpt_dsec.answers.active import activate
from egpt_dsec.answers.entries import conversation
from egpt_dsec.answers.errors import AnnotateError
from egpt_dsec.answers.log import Answer, AnswersLog
from egpt_dsec.answers.model import ActiveAnswers, Choices
from egpt_dsec.answers.provenance import histogram
from egpt_dsec.answers.questions import DEFAULT_QUESTIONS, load_questions, pick_question
from egpt_dsec.answers.select import (
    EMPTY_ANSWER,
    FAILED,
    KEPT,
    LOW_CONFIDENCE,
    UNANSWERED,
    decide,
)
from egpt_dsec.fs import read_json_lines
from egpt_dsec.layout.state import StateLayout

Q = ("q0?", "q1?", "q2?")


def answer(clip: str, q: int, confidence: float | None, text: str = "x", ok: bool = True):
    return Answer("train", "1s", clip, Q[q], ok, text if ok else "", confidence)


def by_key(*answers: Answer) -> dict[tuple[str, str], Answer]:
    return {a.key: a for a in answers}


# --- confidence and responses ---------------------------------------------------------


def test_confidence_is_exp_of_mean_logprob_with_min_and_count() -> None:
    c = confidence_from_logprobs([-0.1, -0.2, -0.6])
    assert c is not None
    assert c.value == pytest.approx(math.exp(-0.3))
    assert c.min_token_prob == pytest.approx(math.exp(-0.6))
    assert c.tokens == 3
    assert confidence_from_logprobs([]) is None


def test_parse_completion_reads_vllm_shape_and_missing_logprobs() -> None:
    body = {
        "choices": [
            {
                "message": {"role": "assistant", "content": " A road. "},
                "logprobs": {"content": [{"token": "A", "logprob": -0.5, "top_logprobs": []}]},
                "finish_reason": "length",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10},
    }
    done = parse_completion(json.dumps(body).encode())
    assert (done.text, done.finish_reason, done.prompt_tokens) == ("A road.", "length", 9)
    assert done.confidence is not None and done.confidence.value == pytest.approx(math.exp(-0.5))
    body["choices"][0]["logprobs"] = None
    assert parse_completion(body).confidence is None


@pytest.mark.parametrize(
    "payload",
    [
        b'{"choices": [{"message": ',
        b"[]",
        b'{"choices": []}',
        b'{"choices": [{"message": {}}]}',
        b'{"choices": [{"message": {"content": 7}}]}',
    ],
)
def test_malformed_completions_are_refused(payload: bytes) -> None:
    with pytest.raises(MalformedResponse):
        parse_completion(payload)


@pytest.mark.parametrize(
    ("message", "finish", "said"),
    [
        ({"content": None}, "stop", "null content"),
        ({"content": None, "refusal": "I can't help with that."}, "stop", "I can't help"),
        ({"content": None, "tool_calls": [{"id": "c"}]}, "tool_calls", "called a tool"),
        ({"content": None, "reasoning_content": "Hmm"}, "length", "token budget ran out"),
    ],
)
def test_null_content_is_a_refusal_not_a_malformed_body(
    message: dict[str, object], finish: str, said: str
) -> None:
    body = {"choices": [{"message": message, "finish_reason": finish}], "system_fingerprint": "fp"}
    done = parse_completion(json.dumps(body).encode())
    assert done.text == "" and done.confidence is None and said in done.refusal
    assert done.server == "fp"


# --- selection ------------------------------------------------------------------------


def test_best_keeps_the_most_confident_answer_ties_to_the_lower_index() -> None:
    got = decide(
        "best", "c", Q, by_key(answer("c", 0, 0.5), answer("c", 1, 0.9), answer("c", 2, 0.9)), 0.0
    )
    assert got.status == KEPT and [t.question_index for t in got.turns] == [1]
    assert got.confidence == 0.9


def test_best_skips_empty_answers_and_falls_back_to_the_id_pick_without_scores() -> None:
    got = decide(
        "best",
        "c",
        Q,
        by_key(answer("c", 0, 0.2), answer("c", 1, 0.99, text=""), answer("c", 2, 0.1)),
        0.0,
    )
    assert [t.question_index for t in got.turns] == [0]
    unscored = by_key(*(answer("c", i, None) for i in range(3)))
    got = decide("best", "c", Q, unscored, 0.99)
    assert got.status == KEPT and got.confidence is None  # no score: the filter is off
    assert [t.question_index for t in got.turns] == [pick_question("c", 3)]


def test_the_threshold_keeps_at_or_above_and_filters_below() -> None:
    one = pick_question("c", 3)
    assert decide("one", "c", Q, by_key(answer("c", one, 0.9)), 0.9).status == KEPT
    low = decide("one", "c", Q, by_key(answer("c", one, 0.8999)), 0.9)
    assert low.status == LOW_CONFIDENCE and not low.kept and low.answered


def test_failed_unanswered_and_empty_clips_are_left_out_by_reason() -> None:
    one = pick_question("c", 3)
    failed = by_key(answer("c", 0, 0.9), answer("c", 1, None, ok=False), answer("c", 2, 0.9))
    assert decide("best", "c", Q, failed, 0).status == FAILED
    assert decide("best", "c", Q, by_key(answer("c", 0, 0.9)), 0).status == UNANSWERED
    assert decide("one", "c", Q, by_key(answer("c", one, 0.9, text="")), 0).status == EMPTY_ANSWER


def test_all_keeps_every_turn_and_scores_the_clip_by_its_lowest() -> None:
    answers = by_key(answer("c", 0, 0.95), answer("c", 1, 0.91), answer("c", 2, 0.97))
    got = decide("all", "c", Q, answers, 0.9)
    assert got.status == KEPT and got.confidence == 0.91
    assert [t.question_index for t in got.turns] == [0, 1, 2]
    assert decide("all", "c", Q, answers, 0.92).status == LOW_CONFIDENCE
    turns = conversation("<event>", got)
    assert [t["from"] for t in turns] == ["human", "gpt"] * 3
    assert turns[0]["value"] == "<event>\nq0?"
    assert [t["value"] for t in turns[2::2]] == ["q1?", "q2?"]


# --- questions and prompt -------------------------------------------------------------


def test_default_questions_are_eventgpts_ten() -> None:
    assert len(DEFAULT_QUESTIONS) == len(set(DEFAULT_QUESTIONS)) == 10
    assert DEFAULT_QUESTIONS[0] == "What are the key elements in this scene?"
    assert DEFAULT_QUESTIONS[9].startswith("What types of vehicles")


def test_question_files(tmp_path: Path) -> None:
    good = tmp_path / "q.txt"
    good.write_text("  First?\n\nSecond?\n")
    assert load_questions(good) == ("First?", "Second?")
    for name, text in (("missing.txt", None), ("empty.txt", "\n  \n"), ("dup.txt", "A\nA\n")):
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        with pytest.raises(AnnotateError) as err:
            load_questions(path)
        assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_one_picks_by_crc32_of_the_clip_id() -> None:
    ids = [f"seq_1s_{i:06d}" for i in range(50)]
    assert [pick_question(i, 10) for i in ids] == [zlib.crc32(i.encode()) % 10 for i in ids]
    assert len({pick_question(i, 10) for i in ids}) > 5


def test_frames_are_sampled_evenly_like_video_llava() -> None:
    for n, k in ((20, 8), (40, 8), (320, 8), (21, 8), (9, 8), (100, 3), (10, 2)):
        assert sample_indices(n, k) == list(np.linspace(0, n - 1, k, dtype=int))
    assert sample_indices(20, 8) == [0, 2, 5, 8, 10, 13, 16, 19]
    assert sample_indices(5, 8) == [0, 1, 2, 3, 4]
    assert sample_indices(10, 1) == [0]


def test_templates_must_place_images_and_question_once() -> None:
    assert check_template(DEFAULT_TEMPLATE, "default") == DEFAULT_TEMPLATE
    for bad in ("no placeholders", "{images} {images} {question}", "{images} only"):
        with pytest.raises(AnnotateError, match=r"tpl\.txt"):
            check_template(bad, "tpl.txt")


def test_image_sizes() -> None:
    assert parse_image_size("640x480") == ((640, 480), None)
    assert parse_image_size("640") == (None, 640)
    for bad in ("0", "x", "640x", "-3", "big"):
        with pytest.raises(AnnotateError, match="--image-size"):
            parse_image_size(bad)
    assert ImageOptions(max_side=640).target(1440, 1080) == (640, 480)
    assert ImageOptions(max_side=640).target(320, 240) == (320, 240)  # never enlarges
    assert ImageOptions(size=(100, 50)).target(1440, 1080) == (100, 50)
    assert parse_image_size("original") == (None, None)
    assert ImageOptions().target(1440, 1080) == (336, 252)  # the default: max side 336
    assert ImageOptions(max_side=None).target(1440, 1080) == (1440, 1080)


def _clip(tmp_path: Path, frames: int = 3) -> ClipToAsk:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(frames):
        path = tmp_path / f"{i:06d}.png"
        Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    times = tuple(i * 0.05 for i in range(frames))
    return ClipToAsk("s_1s_000000", "train", "s", "1s", 1.0, 0.0, tuple(paths), times)


def test_a_spliced_body_is_exactly_the_json_of_the_request(tmp_path: Path) -> None:
    clip = _clip(tmp_path)
    template = "Clip {duration} s:\n{images}\n{question}"
    settings = AnswerSettings("m/é", template, frames=2, image=ImageOptions(format="png"))
    cache = ImageCache(settings.image)
    builder = BodyBuilder(settings, cache)
    body = builder.body(builder.prepare(clip), 'Say "hi"?')
    urls = [cache.data_url(clip.frame_paths[0]), cache.data_url(clip.frame_paths[2])]
    expected = {
        "model": "m/é",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Clip 1 s:"},
                    {"type": "text", "text": "Camera frame 1 of 2, at 0.00 s:"},
                    {"type": "image_url", "image_url": {"url": urls[0]}},
                    {"type": "text", "text": "Camera frame 2 of 2, at 0.10 s:"},
                    {"type": "image_url", "image_url": {"url": urls[1]}},
                    {"type": "text", "text": 'Say "hi"?'},
                ],
            }
        ],
        "max_tokens": 256,
        "temperature": 0.0,
        "logprobs": True,
        "top_logprobs": 0,
        "seed": 0,
    }
    assert body == json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode()
    assert (cache.stats.misses, cache.stats.hits) == (2, 2)


def test_the_cache_knows_a_hard_link_is_the_same_image(tmp_path: Path) -> None:
    clip = _clip(tmp_path, frames=1)
    link = tmp_path / "link.png"
    link.hardlink_to(clip.frame_paths[0])
    cache = ImageCache(ImageOptions())
    assert cache.data_url(link) == cache.data_url(clip.frame_paths[0])
    assert (cache.stats.misses, cache.stats.hits) == (1, 1)


def test_settings_key_changes_with_everything_that_decides_an_answer() -> None:
    base = AnswerSettings(model="m", prompt_template=DEFAULT_TEMPLATE)
    variants = [
        replace(base, model="m2"),
        replace(base, prompt_template=DEFAULT_TEMPLATE + " "),
        replace(base, frames=4),
        replace(base, event_images=True),
        replace(base, image=ImageOptions(format="png")),
        replace(base, image=ImageOptions(max_side=640)),
        replace(base, temperature=0.7),
        replace(base, max_tokens=64),
        replace(base, seed=1),
        replace(base, video=True),
        replace(base, labels=False),
        replace(base, frame_pick="image_idx"),
        replace(base, image=ImageOptions(detail="low")),
        replace(base, image=ImageOptions(max_side=None)),
    ]
    keys = {base.key} | {v.key for v in variants}
    assert len(keys) == len(variants) + 1
    assert AnswerSettings(model="m", prompt_template=DEFAULT_TEMPLATE).key == base.key


def test_a_changed_model_is_refused_unless_reanswer(tmp_path: Path) -> None:
    state = StateLayout(tmp_path)
    choices = Choices(("q?",), "best", 0.9)

    def active(settings: AnswerSettings) -> ActiveAnswers:
        return ActiveAnswers(settings.key, settings.to_json(), choices)

    old = AnswerSettings(model="old", prompt_template=DEFAULT_TEMPLATE)
    new = replace(old, model="new")
    activate(state, active(old), DEFAULT_TEMPLATE, reanswer=False)
    activate(state, active(old), DEFAULT_TEMPLATE, reanswer=False)  # same settings: fine
    with pytest.raises(AnnotateError, match=r"model: 'old' -> 'new'.*--reanswer"):
        activate(state, active(new), DEFAULT_TEMPLATE, reanswer=False)
    activate(state, active(new), DEFAULT_TEMPLATE, reanswer=True)
    assert state.answer_settings_file(old.key).is_file()
    assert state.answer_settings_file(new.key).is_file()


# --- log ------------------------------------------------------------------------------


def test_a_cut_last_line_is_ignored_and_the_next_append_starts_a_fresh_line(
    tmp_path: Path,
) -> None:
    log = AnswersLog(StateLayout(tmp_path), "k")
    log.append([answer("a", 0, 0.5), answer("b", 0, None, ok=False)])
    log.close()
    path = log.path("train", "1s")
    whole = path.read_bytes()
    path.write_bytes(whole + answer("c", 0, 0.7).to_line()[:25])  # killed mid-write
    assert set(log.read("train", "1s")) == {("a", "q0?"), ("b", "q0?")}
    log.append([answer("b", 0, 0.8)])  # the retried failure now answered
    log.close()
    read = log.read("train", "1s")
    assert read[("b", "q0?")].ok and read[("b", "q0?")].confidence == 0.8
    assert len(read_json_lines(path)) == 3


# --- batch ids, histogram, pacing -----------------------------------------------------


def test_custom_ids_round_trip() -> None:
    assert parse_custom_id(custom_id("zurich_city_04_b_1s_000012", 9, "abc")) == (
        "zurich_city_04_b_1s_000012",
        9,
        "abc",
    )
    for bad in ("x", "a:b:c", "a:qx:t", ""):
        assert parse_custom_id(bad) is None


def test_histogram_bins() -> None:
    got = histogram([0.0, 0.05, 0.1, 0.95, 1.0])
    assert got["counts"] == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert got["edges"][0] == 0.0 and got["edges"][-1] == 1.0


def test_endpoint_host_has_no_path_or_credentials() -> None:
    assert endpoint_host("http://user:pw@gpu-box:8000/v1") == "gpu-box:8000"
    assert endpoint_host("https://api.openai.com/v1") == "api.openai.com"


def test_retry_after_and_backoff() -> None:
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30)), now) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    rng = random.Random(1)
    assert backoff_delay(3, 12.0, rng) == 12.0
    delays = [backoff_delay(a, None, rng) for a in range(10) for _ in range(20)]
    bounds = [min(60.0, 2.0**a) for a in range(10) for _ in range(20)]
    assert all(0 <= d <= b for d, b in zip(delays, bounds, strict=True))
    assert len(set(delays)) == len(delays)  # jittered


def test_rate_limiter_spaces_request_starts() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def three() -> None:
        limiter = RateLimiter(60, sleep=sleep, clock=lambda: 100.0)
        for _ in range(3):
            await limiter.wait()

    asyncio.run(three())
    assert slept == [1.0, 2.0]


def test_threads_asking_for_one_frame_at_once_encode_it_once(tmp_path: Path) -> None:
    clip = _clip(tmp_path, frames=2)
    cache = ImageCache(ImageOptions())
    with ThreadPoolExecutor(8) as pool:
        urls = list(pool.map(cache.data_url, list(clip.frame_paths) * 40))
    assert len(set(urls)) == 2
    assert (cache.stats.misses, cache.stats.hits) == (2, 78)
