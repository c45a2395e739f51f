"""annotate end to end against the fake server, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from annotate_fixtures import CLIPS, annotate_args, built_output, json_files, output_copy, run_cli
from egpt_dsec.annotate import annotation_status
from egpt_dsec.answers.questions import DEFAULT_QUESTIONS, pick_question
from egpt_dsec.config import BuildConfig
from egpt_dsec.config.record import load_last_config
from egpt_dsec.durations import parse_durations
from egpt_dsec.layout.output import EVENTGPT_JSON, VIDEOLLAVA_JSON
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.pipeline import build
from egpt_dsec.reports.verify import fix_output, verify_output
from egpt_dsec.state.lock import output_lock
from fake_vlm_server import (
    SERVED_MODEL,
    FakeVLMServer,
    Recorded,
    decode_image,
    image_digest,
    image_urls,
    prompt_text,
)

ALL_CLIPS = sum(CLIPS.values())
GROUPS = sorted(CLIPS)


@pytest.fixture
def out(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return output_copy(tmp_path_factory, tmp_path)


def entries(out: Path, name: str = EVENTGPT_JSON) -> list[dict[str, Any]]:
    """The group files' entries; a group whose every clip is left out has no file."""
    files = [out / s / d / name for s, d in GROUPS]
    return [e for f in files if f.is_file() for e in json.loads(f.read_text())]


def run(out: Path, server: FakeVLMServer, *extra: str) -> int:
    return run_cli(annotate_args(out, *extra, endpoint=server.url))


def text_of(record: Recorded) -> str:
    assert record.response is not None
    return str(record.response["choices"][0]["message"]["content"])


def confidence_of(record: Recorded) -> float:
    """exp(mean token logprob), computed here from the logprobs the server sent."""
    assert record.response is not None
    values = [t["logprob"] for t in record.response["choices"][0]["logprobs"]["content"]]
    return float(np.exp(np.mean(values)))


def question_of(record: Recorded) -> int:
    text = prompt_text(record.body)
    return max(
        (i for i, q in enumerate(DEFAULT_QUESTIONS) if q in text),
        key=lambda i: len(DEFAULT_QUESTIONS[i]),
    )


def digest_in(answer: str) -> str:
    match = re.search(r"images ([0-9a-f]{12})", answer)
    assert match, answer
    return match.group(1)


def gpt(entry: dict[str, Any]) -> str:
    return str(entry["conversations"][1]["value"])


def test_every_clip_is_asked_each_question_once_and_answered_in_both_json_files(
    out: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeVLMServer() as server:
        assert run(out, server, "--min-confidence", "0") == 0
        asked = server.completions()
        first = json_files(out)
        assert run(out, server, "--min-confidence", "0") == 0  # nothing left to ask
        assert len(server.recorded) == len(asked)
    assert json_files(out) == first
    pairs = {(image_digest(r.body), question_of(r)) for r in asked}
    assert len(asked) == len(pairs) == ALL_CLIPS * 10
    assert len({digest for digest, _ in pairs}) == ALL_CLIPS
    by_text = {text_of(r): r for r in asked}
    built = built_output(tmp_path_factory)
    for name, token in ((EVENTGPT_JSON, "<event>"), (VIDEOLLAVA_JSON, "<video>")):
        items = entries(out, name)
        assert [e["id"] for e in items] == [e["id"] for e in entries(built, name)]
        for item in items:
            human, answer = item["conversations"]
            index = item["answer_meta"]["turns"][0]["question_index"]
            assert human == {"from": "human", "value": f"{token}\n{DEFAULT_QUESTIONS[index]}"}
            assert answer["from"] == "gpt" and question_of(by_text[answer["value"]]) == index
            assert "onfidence" not in answer["value"] and "%" not in answer["value"]
    assert "train/1s: 5 clips, 5 kept, 0 filtered" in capsys.readouterr().out


def test_the_confidence_filter_is_exact(out: Path) -> None:
    with FakeVLMServer() as server:
        assert run(out, server, "--min-confidence", "0") == 0
        records = server.completions()
        scores: dict[str, list[tuple[float, int]]] = {}
        for r in records:
            scores.setdefault(digest_in(text_of(r)), []).append((confidence_of(r), question_of(r)))
        best = {}
        for entry in entries(out):
            options = scores[digest_in(gpt(entry))]
            top = max(c for c, _ in options)
            best[entry["id"]] = top
            meta = entry["answer_meta"]
            assert meta["confidence"] == pytest.approx(top, rel=1e-12)
            assert meta["turns"][0]["question_index"] == min(q for c, q in options if c == top)
            assert meta["model"] == SERVED_MODEL
        threshold = sorted(best.values())[len(best) // 2]
        assert run(out, server, "--min-confidence", repr(threshold)) == 0
        assert len(server.recorded) == len(records)  # filtering asks nothing new
    kept = {e["id"] for e in entries(out)}
    assert kept == {clip for clip, c in best.items() if c >= threshold}
    assert {e["id"] for e in entries(out, "videollava.json")} == kept
    status = annotation_status(out)
    assert sum(s.kept for s in status.values()) == len(kept)
    low = sum(c < threshold for c in best.values())
    assert low > 0 and sum(s.filtered_by_reason["low_confidence"] for s in status.values()) == low
    for split, duration in GROUPS:
        prov = json.loads((out / split / duration / "annotations.provenance.json").read_text())
        assert prov["counts"]["clips"] == CLIPS[(split, duration)]
        assert sum(prov["confidence_histogram"]["counts"]) == CLIPS[(split, duration)]
        assert prov["min_confidence"] == threshold and prov["model"] == SERVED_MODEL


def frame_times(out: Path, tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    dsec = built_output(tmp_path_factory).parent / "dsec"
    return np.loadtxt(dsec / "train" / "synth_00" / "images" / "timestamps.txt", dtype=np.int64)


def pixels(image: Image.Image | Path) -> np.ndarray:
    if isinstance(image, Path):
        with Image.open(image) as opened:
            return np.asarray(opened.convert("RGB"), dtype=np.int16)
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_requests_carry_the_sampled_frames_and_event_images_exactly_as_png(
    out: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    timestamps = frame_times(out, tmp_path_factory)
    with FakeVLMServer() as server:
        args = ("--select", "one", "--image-format", "png", "--event-images")
        args += ("--image-size", "original")  # full resolution: one flag away
        assert run(out, server, *args, "--min-confidence", "0") == 0
        by_text = {text_of(r): r for r in server.completions()}
    assert len(by_text) == ALL_CLIPS
    for entry in entries(out):
        folder = out / entry["split"] / entry["duration"]
        record = by_text[gpt(entry)]
        frames = sorted((folder / "video" / entry["video_data"]).glob("*.png"))
        picked = [frames[i] for i in np.linspace(0, len(frames) - 1, 8, dtype=int)]
        events = [folder / "event_image" / p for p in entry["event_image"]]
        urls = image_urls(record.body)
        assert len(urls) == 8 + len(events) == 13
        for url, source in zip(urls, picked + events, strict=True):
            assert url.startswith("data:image/png;base64,")
            np.testing.assert_array_equal(pixels(decode_image(url)), pixels(source))
        text = prompt_text(record.body)
        for frame in picked:
            t = (timestamps[int(frame.stem)] - entry["time_start"]) / 1e6
            assert f"at {t:.2f} s:" in text
        assert f"one {entry['duration'][:-1]} s clip" in text
        assert "Event-camera image 5 of 5" in text
        assert entry["conversations"][0]["value"].endswith(
            DEFAULT_QUESTIONS[pick_question(entry["id"], 10)]
        )


def test_jpeg_images_match_within_tolerance_and_are_resized(out: Path) -> None:
    with FakeVLMServer() as server:
        assert run(out, server, "--select", "one", "--frames", "3", "--min-confidence", "0") == 0
        default = {text_of(r): r for r in server.completions()}
    for entry in entries(out):
        frames = sorted(
            (out / entry["split"] / entry["duration"] / "video" / entry["video_data"]).glob("*.png")
        )
        picked = [frames[i] for i in np.linspace(0, len(frames) - 1, 3, dtype=int)]
        urls = image_urls(default[gpt(entry)].body)
        for url, source in zip(urls, picked, strict=True):
            assert url.startswith("data:image/jpeg;base64,")
            sent = pixels(decode_image(url))
            error = {f: np.abs(sent - pixels(f)).mean() for f in frames}
            assert error[source] < 6.0  # JPEG q90 with 4:2:0 chroma on a 64x48 frame
            assert min(error, key=error.__getitem__) == source  # and no other frame is closer
    resized = output_dir = out.parent / "resized"
    os.rename(out, output_dir)
    with FakeVLMServer() as server:
        args = ("--select", "one", "--image-size", "32x24", "--min-confidence", "0", "--reanswer")
        assert run(resized, server, *args) == 0
        assert all(
            decode_image(u).size == (32, 24)
            for r in server.completions()
            for u in image_urls(r.body)
        )


def test_a_permanently_failing_request_is_recorded_the_rest_succeed_and_the_next_run_retries(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeVLMServer() as server:
        fault = server.inject(
            "500",
            times=None,
            retry_after="0",
            match=lambda body: "one 2 s clip" in prompt_text(body),
        )
        assert run(out, server, "--select", "one", "--retries", "2", "--min-confidence", "0") == 1
        assert "retry" in capsys.readouterr().err
        failing = [r for r in server.recorded if r.fault == "500"]
        assert len(failing) == CLIPS[("train", "2s")] * 3  # 1 try + 2 retries each
        assert len(entries(out)) == CLIPS[("train", "1s")]
        log = next(out.glob(".egpt-dsec/answers/*/train/2s.jsonl")).read_text().splitlines()
        assert [json.loads(line)["error"] for line in log] == ["HTTP 500: engine died"] * 2
        assert annotation_status(out)[("train", "2s")].failed == 2
        fault.times = 0
        before = len(server.completions())
        assert run(out, server, "--select", "one", "--min-confidence", "0") == 0
        assert len(server.completions()) - before == CLIPS[("train", "2s")]
    assert len(entries(out)) == ALL_CLIPS
    assert annotation_status(out)[("train", "2s")].failed == 0


def test_a_changed_model_is_refused_without_reanswer(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeVLMServer() as server:
        assert run(out, server, "--select", "one") in (0, 1)
        answers = sorted(out.glob(".egpt-dsec/answers/*/train/1s.jsonl"))
        old = answers[0].read_bytes()
    before = json_files(out)
    capsys.readouterr()
    with FakeVLMServer(model="new/vlm") as server:
        args = ["--out", str(out), "--model", "new/vlm", "--endpoint", server.url]
        args += ["--select", "one"]
        assert run_cli(args) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "--reanswer" in err and "'new/vlm'" in err
        assert json_files(out) == before and not server.recorded
        assert run_cli([*args, "--reanswer", "--min-confidence", "0"]) == 0
        assert len(server.completions()) == ALL_CLIPS
    assert answers[0].read_bytes() == old  # the old answers stay, under their own key
    assert len(list(out.glob(".egpt-dsec/answers/*/train/1s.jsonl"))) == 2
    assert {e["answer_meta"]["model"] for e in entries(out)} == {"new/vlm"}


def test_without_logprobs_confidence_is_null_and_the_filter_is_off(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeVLMServer() as server:
        server.logprobs = False
        assert run(out, server, "--min-confidence", "0.99") == 0
    printed = capsys.readouterr().out
    assert printed.count("no logprobs") == 1
    items = entries(out)
    assert len(items) == ALL_CLIPS
    for entry in items:
        assert entry["answer_meta"]["confidence"] is None
        assert entry["answer_meta"]["turns"][0]["question_index"] == pick_question(entry["id"], 10)


def test_select_all_keeps_every_answer_as_turns(out: Path) -> None:
    with FakeVLMServer() as server:
        assert run(out, server, "--select", "all", "--min-confidence", "0") == 0
        assert len(server.completions()) == ALL_CLIPS * 10
    for entry in entries(out):
        turns = entry["conversations"]
        assert [t["from"] for t in turns] == ["human", "gpt"] * 10
        assert [t["value"] for t in turns[0::2]] == [
            "<event>\n" + DEFAULT_QUESTIONS[0],
            *DEFAULT_QUESTIONS[1:],
        ]
        assert [t["value"][:10] for t in turns[1::2]] == [f"Answer q{i} " for i in range(10)]
        scores = [t["confidence"] for t in entry["answer_meta"]["turns"]]
        assert entry["answer_meta"]["confidence"] == min(scores)


def test_limit_asks_only_that_many_clips_and_the_next_run_the_rest(out: Path) -> None:
    with FakeVLMServer() as server:
        assert run(out, server, "--select", "one", "--limit", "2", "--min-confidence", "0") == 0
        assert len(server.completions()) == 2 and len(entries(out)) == 2
        status = annotation_status(out)
        assert sum(s.unanswered for s in status.values()) == ALL_CLIPS - 2
        assert {e["time_start"] for e in entries(out)} == {
            min(e["time_start"] for e in entries(out))
        }
        assert run(out, server, "--select", "one", "--min-confidence", "0") == 0
        assert len(server.completions()) == ALL_CLIPS
    assert len(entries(out)) == ALL_CLIPS


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--questions", "{tmp}/none.txt"], "--questions"),
        (["--questions", "{tmp}/empty.txt"], "no question"),
        (["--prompt-template", "{tmp}/none.txt"], "--prompt-template"),
        (["--image-size", "huge"], "--image-size"),
        (["--durations", "7s"], "no built clip"),
    ],
)
def test_bad_input_is_one_clear_line(
    out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], expected: str
) -> None:
    (tmp_path / "empty.txt").write_text("\n\n")
    before = json_files(out)
    with FakeVLMServer() as server:
        assert run(out, server, *(a.format(tmp=tmp_path) for a in extra)) == 2
        assert not server.recorded
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and expected in err and "\n" not in err
    assert json_files(out) == before


def test_a_wrong_model_fails_fast_at_the_command_line(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = json_files(out)
    with FakeVLMServer(model="served/elsewhere") as server:
        assert run(out, server) == 2
        assert not server.recorded
    err = capsys.readouterr().err.strip()
    assert "is not served" in err and "served/elsewhere" in err and "\n" not in err
    assert json_files(out) == before


def test_clips_built_without_frame_folders_show_the_dsec_frames(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    dsec = built_output(tmp_path_factory).parent / "dsec"
    config = BuildConfig(
        dsec_root=dsec,
        out=tmp_path / "out",
        durations=parse_durations("1s"),
        components=("event_image", "json"),
        workers=1,
    )
    assert not build(config).failures
    timestamps = np.loadtxt(dsec / "train/synth_00/images/timestamps.txt", dtype=np.int64)
    frames = sorted((dsec / "train/synth_00/images/left/rectified").glob("*.png"))
    with FakeVLMServer() as server:
        args = ("--select", "one", "--image-format", "png", "--frames", "2")
        assert run(config.out, server, *args, "--min-confidence", "0") == 0
        by_text = {text_of(r): r for r in server.completions()}
    items = json.loads((config.out / f"train/1s/{EVENTGPT_JSON}").read_text())
    assert len(items) == CLIPS[("train", "1s")]
    for entry in items:
        first = int(np.searchsorted(timestamps, entry["time_start"]))
        last = int(np.searchsorted(timestamps, entry["time_end"])) - 1
        urls = image_urls(by_text[gpt(entry)].body)
        for url, index in zip(urls, (first, last), strict=True):
            np.testing.assert_array_equal(pixels(decode_image(url)), pixels(frames[index]))


def test_a_server_that_refuses_every_request_stops_the_run_with_its_message(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = json_files(out)
    with FakeVLMServer() as server:
        server.inject("400", times=None)
        assert run(out, server, "--concurrency", "2") == 2
        sent = server.received
        assert 8 <= sent <= 8 + 2 < ALL_CLIPS * 10  # stops after 8 failures, bar those in flight
    err = capsys.readouterr().err.strip()
    assert "At most 1 image(s)" in err and "--limit-mm-per-prompt" in err and "\n" not in err
    assert json_files(out) == before


def test_a_running_build_or_annotate_is_one_clear_line(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeVLMServer() as server, output_lock(StateLayout(out)):
        assert run(out, server) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: another build is writing") and "\n" not in err


def test_a_rebuild_and_verify_fix_keep_the_answers(out: Path) -> None:
    """The JSON files come from the manifest and the answers log: a later build, and
    ``verify --fix`` of a damaged file, write them back with the answers."""
    with FakeVLMServer() as server:
        assert run(out, server, "--select", "one", "--min-confidence", "0") == 0
    answered = json_files(out)
    assert any('"answer_meta"' in data.decode() for data in answered.values())
    config = load_last_config(StateLayout(out))
    assert not build(config).failures
    assert json_files(out) == answered
    assert verify_output(out).ok()
    damaged = out / GROUPS[0][0] / GROUPS[0][1] / EVENTGPT_JSON
    damaged.write_text("[]\n")
    report = verify_output(out)
    assert [p.path for p in report.problems] == [damaged]
    fix_output(out, report)
    assert not build(config).failures
    assert json_files(out) == answered and verify_output(out).ok()
