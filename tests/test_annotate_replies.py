"""Every reply a real server sends, handled: null content and refusals, truncated answers,
too many images, fingerprints and versions, batch errors in vLLM's and OpenAI's shapes,
an unreadable clip; and what the summary tells. Against the fake server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from annotate_fixtures import CLIPS, annotate_args, output_copy, run_cli
from egpt_dsec.annotate import annotation_status, batch
from egpt_dsec.annotate.body import BodyBuilder
from egpt_dsec.annotate.images import ImageCache
from egpt_dsec.annotate.prompt import DEFAULT_TEMPLATE
from egpt_dsec.annotate.report import format_report
from egpt_dsec.annotate.run import AnnotateConfig, AnnotateReport
from egpt_dsec.annotate.settings import AnswerSettings
from egpt_dsec.answers.log import Answer
from egpt_dsec.answers.select import KEPT, REFUSED, TRUNCATED, decide
from egpt_dsec.layout.output import EVENTGPT_JSON
from fake_vlm_server import FakeVLMServer, prompt_text

ALL_CLIPS = sum(CLIPS.values())
TWO_SECONDS = "one 2 s clip"


@pytest.fixture
def out(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return output_copy(tmp_path_factory, tmp_path)


def run(out: Path, server: FakeVLMServer, *extra: str) -> int:
    return run_cli(annotate_args(out, *extra, endpoint=server.url))


def log_rows(out: Path, group: str = "train/2s") -> list[dict[str, Any]]:
    path = next(out.glob(f".egpt-dsec/answers/*/{group}.jsonl"))
    return [json.loads(line) for line in path.read_text().splitlines()]


def provenance(out: Path, group: str = "train/2s") -> dict[str, Any]:
    return json.loads((out / group / "annotations.provenance.json").read_text())


def in_2s_clips(body: dict[str, Any]) -> bool:
    return TWO_SECONDS in prompt_text(body)


@pytest.mark.parametrize("shape", ["null", "refusal", "tool_call"])
def test_null_or_refused_content_is_a_refusal_logged_once_and_never_asked_again(
    out: Path, shape: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeVLMServer() as server:
        server.inject(shape, times=None, match=in_2s_clips)
        assert run(out, server, "--select", "one", "--min-confidence", "0") == 0
        sent = server.received
        assert sent == ALL_CLIPS  # not retried: one request each
        assert run(out, server, "--select", "one", "--min-confidence", "0") == 0
        assert server.received == sent  # a refusal is an answer: never asked again
    rows = log_rows(out)
    assert len(rows) == CLIPS[("train", "2s")] and all(r["ok"] and r["refusal"] for r in rows)
    counts = provenance(out)["counts"]
    assert counts["filtered_by_reason"][REFUSED] == CLIPS[("train", "2s")]
    assert counts["refused_answers"] == CLIPS[("train", "2s")] and counts["kept"] == 0
    assert annotation_status(out)[("train", "2s")].filtered == CLIPS[("train", "2s")]
    assert "refused 2" in capsys.readouterr().out


def test_a_truncated_answer_is_counted_and_kept_only_with_keep_truncated(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeVLMServer() as server:
        server.inject("length", times=None, match=in_2s_clips)
        args = ("--select", "one", "--min-confidence", "0")
        assert run(out, server, *args) == 0
        printed = capsys.readouterr().out
        counts = provenance(out)["counts"]
        assert counts["truncated_answers"] == CLIPS[("train", "2s")]
        assert counts["filtered_by_reason"][TRUNCATED] == CLIPS[("train", "2s")]
        assert not (out / "train/2s" / EVENTGPT_JSON).exists()  # every 2 s clip left out
        assert "2 answers cut at --max-tokens (never chosen)" in printed
        asked = server.received
        assert run(out, server, *args, "--keep-truncated") == 0  # a choice: nothing asked
        assert server.received == asked
    entries = json.loads((out / "train/2s" / EVENTGPT_JSON).read_text())
    assert len(entries) == CLIPS[("train", "2s")]
    assert {e["answer_meta"]["turns"][0]["finish_reason"] for e in entries} == {"length"}


def test_a_truncated_answer_never_wins_best_of_ten() -> None:
    questions = ("q0?", "q1?")

    def answer(q: int, confidence: float, finish: str) -> Answer:
        return Answer("train", "1s", "c", questions[q], True, "x", confidence, finish_reason=finish)

    answers = {a.key: a for a in (answer(0, 0.99, "length"), answer(1, 0.8, "stop"))}
    assert decide("best", "c", questions, answers, 0.0, False).turns[0].question_index == 1
    assert decide("best", "c", questions, answers, 0.0, True).turns[0].question_index == 0
    old = decide("best", "c", questions, answers, 0.0, None)  # a record from before: as it was
    assert old.status == KEPT and old.turns[0].question_index == 0


def test_more_images_than_the_server_allows_is_one_line_naming_the_flag(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeVLMServer() as server:
        server.max_images = 4
        assert run(out, server, "--concurrency", "2") == 2
        assert server.received <= 2 + 1  # stops at the first refusal, bar those in flight
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--limit-mm-per-prompt" in err
    assert "at most 4 image(s)" in err and '\'{"image": 8, "video": 0}\'' in err


@pytest.mark.parametrize(
    ("fingerprint", "version", "expected"),
    [("fp_44709d6fcb", None, "fp_44709d6fcb"), (None, "0.11.0", "version 0.11.0")],
)
def test_the_provenance_records_the_servers_fingerprint_or_version(
    out: Path, fingerprint: str | None, version: str | None, expected: str
) -> None:
    with FakeVLMServer() as server:
        server.fingerprint, server.version = fingerprint, version
        assert run(out, server, "--select", "one", "--min-confidence", "0") == 0
    assert provenance(out)["servers"] == {expected: CLIPS[("train", "2s")]}
    assert {r["server"] for r in log_rows(out)} == {expected}


def test_without_fingerprint_or_version_the_provenance_has_no_servers(out: Path) -> None:
    with FakeVLMServer() as server:
        assert run(out, server, "--select", "one", "--min-confidence", "0") == 0
    assert "servers" not in provenance(out)


def test_an_unreadable_clip_fails_alone_is_named_and_the_run_goes_on(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = sorted((out / "train/1s/event_image").rglob("*.png"))[0]  # one clip's own file
    broken.write_bytes(b"\x89PNG\r\n\x1a\n cut")
    with FakeVLMServer() as server:
        assert run(out, server, "--event-images", "--min-confidence", "0") == 1
        assert server.received == (ALL_CLIPS - 1) * 10  # the others, all of them
    printed = capsys.readouterr().out
    assert f"unreadable, not asked (rebuild it): {broken.parent.name}_" in printed
    assert str(broken) in printed
    status = annotation_status(out)
    assert status[("train", "1s")].failed == 1 and status[("train", "1s")].kept == 4
    assert status[("train", "2s")].kept == CLIPS[("train", "2s")]


@pytest.mark.parametrize(
    ("model", "expected", "absent"),
    [
        ("Qwen/Qwen2.5-VL-7B-Instruct", {"max_tokens": 256, "seed": 0, "logprobs": True}, ()),
        (
            "gpt-4o-2024-08-06",
            {"max_completion_tokens": 256, "seed": 0, "temperature": 0.0},
            ("max_tokens",),
        ),
        (
            "o4-mini",
            {"max_completion_tokens": 256, "seed": 0},
            ("max_tokens", "temperature", "logprobs", "top_logprobs"),
        ),
        ("gpt-5-mini", {"max_completion_tokens": 256}, ("max_tokens", "logprobs")),
    ],
)
def test_max_completion_tokens_and_seed_where_the_family_needs_them(
    model: str, expected: dict[str, Any], absent: tuple[str, ...]
) -> None:
    settings = AnswerSettings(model, DEFAULT_TEMPLATE)
    fields = BodyBuilder(settings, ImageCache(settings.image)).sampling()
    assert expected.items() <= fields.items()
    assert not set(absent) & set(fields)


def test_every_request_carries_the_seed(out: Path) -> None:
    with FakeVLMServer() as server:
        assert run(out, server, "--select", "one", "--seed", "7", "--min-confidence", "0") == 0
        assert {r.body["seed"] for r in server.completions()} == {7}
        assert {r.body["max_tokens"] for r in server.completions()} == {256}


VLLM_ERROR = {  # vLLM's run_batch: its error response in "error", the status in "response"
    "id": "vllm-1",
    "response": {"status_code": 400, "request_id": "vllm-batch-1", "body": None},
    "error": {
        "error": {
            "message": "At most 8 image(s) may be provided in one prompt.",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        }
    },
}
VLLM_OLD_ERROR = {
    "id": "vllm-2",
    "response": None,
    "error": {"object": "error", "message": "engine died", "code": 500},
}
OPENAI_REQUEST_ERROR = {  # the request ran and failed: the body holds the error
    "id": "batch_req_1",
    "response": {
        "status_code": 400,
        "request_id": "r1",
        "body": {
            "error": {
                "message": "Invalid image.",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        },
    },
    "error": None,
}
OPENAI_BATCH_ERROR = {
    "id": "batch_req_2",
    "response": None,
    "error": {"code": "batch_expired", "message": "This request expired."},
}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (VLLM_ERROR, "batch error (HTTP 400): At most 8 image(s) may be provided in one prompt."),
        (VLLM_OLD_ERROR, "batch error: engine died"),
        (
            {**VLLM_OLD_ERROR, "error": "Request must not be sent in stream mode"},
            "batch error: Request must not be sent in stream mode",
        ),
        (OPENAI_REQUEST_ERROR, "HTTP 400: Invalid image."),
        (OPENAI_BATCH_ERROR, "batch error: This request expired."),
    ],
)
def test_batch_errors_of_vllm_and_openai_keep_their_message(
    row: dict[str, Any], message: str
) -> None:
    reply = batch._reply(row)
    assert reply.completion is None and reply.error == message


def test_an_imported_vllm_batch_error_is_logged_with_its_message(out: Path, tmp_path: Path) -> None:
    folder = tmp_path / "requests"
    assert run_cli(annotate_args(out, "--select", "one", "--export-batch", str(folder))) == 0
    first = json.loads((folder / "requests-0001.jsonl").read_text().splitlines()[0])
    results = tmp_path / "results.jsonl"
    results.write_text(json.dumps({**VLLM_ERROR, "custom_id": first["custom_id"]}) + "\n")
    assert run_cli(annotate_args(out, "--select", "one", "--import-batch", str(results))) == 1
    errors = [r["error"] for r in log_rows(out, "train/1s") if not r["ok"]]
    assert errors == ["batch error (HTTP 400): At most 8 image(s) may be provided in one prompt."]


def _group(clips: int, kept: int, low: int) -> dict[str, Any]:
    reasons = {"low_confidence": low, "empty_answer": 0, "truncated": 0, "refused": 0}
    return {
        "clips": clips,
        "kept": kept,
        "filtered": low,
        "filtered_by_reason": reasons,
        "failed": 0,
        "unanswered": 0,
        "unscored": 0,
        "truncated_answers": 0,
    }


def test_the_summary_says_kept_filtered_and_the_threshold_durations_by_length() -> None:
    report = AnnotateReport(
        groups={
            ("train", "10s"): _group(3, 2, 1),
            ("train", "16s"): _group(1, 1, 0),
            ("train", "1s"): _group(300, 264, 36),
            ("train", "2s"): _group(4, 4, 0),
        }
    )
    config = AnnotateConfig(Path("out"), AnswerSettings("m", DEFAULT_TEMPLATE), dry_run=True)
    lines = format_report(report, config).splitlines()
    assert [line.split(":")[0] for line in lines[:4]] == [
        "train/1s",
        "train/2s",
        "train/10s",
        "train/16s",
    ]
    assert lines[3].startswith("train/16s: 1 clip, 1 kept")
    assert lines[0] == (
        "train/1s: 300 clips, 264 kept, 36 filtered (confidence under 0.9 36), 0 failed, "
        "0 not yet asked"
    )
    assert lines[-1] == (
        "in the JSON files: 271 of 308 clips kept, 37 filtered (confidence under 0.9 37) at "
        "--min-confidence 0.9"
    )


OLD_FIELDS = ("split", "duration", "clip", "question", "ok", "text", "confidence",
              "min_token_prob", "tokens", "finish_reason", "error", "source")  # fmt: skip


def test_an_output_annotated_before_rebuilds_as_it_was(out: Path) -> None:
    """An answer set recorded before truncation and refusals were handled (no
    ``keep_truncated`` in its record, log lines without the new fields) keeps its rule:
    a truncated answer may still be chosen, and the provenance has its old keys only."""
    from egpt_dsec.config.record import load_last_config
    from egpt_dsec.layout.state import StateLayout
    from egpt_dsec.pipeline import build

    with FakeVLMServer() as server:
        assert run(out, server, "--min-confidence", "0") == 0
    state = StateLayout(out)
    record = json.loads(state.active_answers_file.read_text())
    del record["choices"]["keep_truncated"]
    state.active_answers_file.write_text(json.dumps(record, indent=1, sort_keys=True))
    for path in out.glob(".egpt-dsec/answers/*/*/*.jsonl"):
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        for row in rows:  # the old line format; every answer cut at the cap
            for name in set(row) - set(OLD_FIELDS):
                del row[name]
            row["finish_reason"] = "length"
        path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows))
    assert not build(load_last_config(state)).failures
    first = {p: p.read_bytes() for p in sorted(out.glob("train/**/*.json"))}
    kept = json.loads((out / "train/2s" / EVENTGPT_JSON).read_text())
    assert len(kept) == CLIPS[("train", "2s")]  # the truncated answers are kept, as before
    counts = provenance(out)["counts"]
    assert set(counts["filtered_by_reason"]) == {"low_confidence", "empty_answer"}
    assert "truncated_answers" not in counts and "keep_truncated" not in provenance(out)
    assert not build(load_last_config(state)).failures
    assert {p: p.read_bytes() for p in sorted(out.glob("train/**/*.json"))} == first
