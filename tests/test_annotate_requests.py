"""What each request holds and when it is sent: one byte-identical prefix per clip with
the question last, sent so that a prefix cache serves a clip's later questions; the
clip's MP4 as one video part; the replaced script's request; the legend in the build's
event-image style; the frames found through the build's own code."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from annotate_fixtures import CLIPS, annotate_args, built_output, output_copy, run_cli
from egpt_dsec.annotate import dataset
from egpt_dsec.annotate.body import BodyBuilder
from egpt_dsec.annotate.client import ClientOptions
from egpt_dsec.annotate.images import ImageCache, ImageOptions
from egpt_dsec.annotate.model import ClipToAsk
from egpt_dsec.annotate.prompt import DEFAULT_TEMPLATE
from egpt_dsec.annotate.run import AnnotateConfig, annotate
from egpt_dsec.annotate.settings import AnswerSettings
from egpt_dsec.answers.questions import DEFAULT_QUESTIONS
from egpt_dsec.config.record import load_last_config
from egpt_dsec.execute.frame_source import FrameSource
from egpt_dsec.layout.output import EVENTGPT_JSON
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.source.discover import discover_sequences
from egpt_dsec.state.manifest import Manifest
from fake_vlm_server import (
    SERVED_MODEL,
    FakeVLMServer,
    decode_image,
    image_urls,
    prefix_digest,
    prompt_text,
    video_urls,
)

ALL_CLIPS = sum(CLIPS.values())


@pytest.fixture
def out(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return output_copy(tmp_path_factory, tmp_path)


def run(out: Path, server: FakeVLMServer, *extra: str) -> int:
    return run_cli(annotate_args(out, *extra, endpoint=server.url))


def entries(out: Path) -> list[dict[str, Any]]:
    files = [out / s / d / EVENTGPT_JSON for s, d in sorted(CLIPS)]
    return [e for f in files if f.is_file() for e in json.loads(f.read_text())]


def test_a_clips_requests_share_one_prefix_with_the_question_last(out: Path) -> None:
    with FakeVLMServer() as server:
        assert run(out, server, "--event-images", "--min-confidence", "0") == 0
        records = server.completions()
    by_prefix: dict[str, set[str]] = {}
    for record in records:
        content = record.body["messages"][-1]["content"]
        last = content[-1]
        assert last["type"] == "text"
        assert any(last["text"].endswith(q) for q in DEFAULT_QUESTIONS)  # the question last
        assert all(p["type"] == "text" for p in content[-1:])  # no image after it
        by_prefix.setdefault(prefix_digest(record.body, DEFAULT_QUESTIONS), set()).add(
            prompt_text(record.body).rsplit("\n", 1)[-1]
        )
    assert len(by_prefix) == ALL_CLIPS  # one prefix a clip ...
    assert all(len(asked) == 10 for asked in by_prefix.values())  # ... for its 10 questions


def ask_with_cache(out: Path, prefix_first: bool, concurrency: int = 8) -> FakeVLMServer:
    settings = AnswerSettings(SERVED_MODEL, DEFAULT_TEMPLATE, event_images=True)
    with FakeVLMServer() as server:
        server.compute_s = (0.05, 0.005)  # a miss computes the images, a hit does not
        client = ClientOptions(server.url, concurrency=concurrency, prefix_first=prefix_first)
        config = AnnotateConfig(out, settings, min_confidence=0.0, client=client, reanswer=True)
        report = annotate(config)
        assert report.online is not None and report.online.answered == ALL_CLIPS * 10
    return server


def test_a_clips_later_questions_find_its_prefix_computed(out: Path) -> None:
    """The first question of a clip goes alone; the others once it has been answered,
    so at least 85% of --select best requests are prefix-cache hits (here 9 of 10)."""
    server = ask_with_cache(out, prefix_first=True)
    assert server.hit_rate() >= 0.85
    assert server.hit_rate() == pytest.approx(0.9)
    firsts: dict[str, float] = {}
    for record in sorted(server.recorded, key=lambda r: r.arrived):
        prefix = prefix_digest(record.body, DEFAULT_QUESTIONS)
        if prefix not in firsts:
            firsts[prefix] = record.finished
        else:
            assert record.arrived >= firsts[prefix]  # sent after the first was answered
    # The other clips' first questions kept the workers busy: more than one clip at once.
    spans = sorted(
        (min(r.arrived for r in rs), max(r.finished for r in rs))
        for rs in _by_prefix(server.recorded).values()
    )
    assert any(b[0] < a[1] for a, b in itertools.pairwise(spans))


def _by_prefix(records: list[Any]) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for r in records:
        groups.setdefault(prefix_digest(r.body, DEFAULT_QUESTIONS), []).append(r)
    return groups


def test_without_prefix_first_most_requests_miss(out: Path) -> None:
    """The contrast: all 10 questions of a clip together compute its images 10 times."""
    assert ask_with_cache(out, prefix_first=False).hit_rate() < 0.5


def test_video_sends_the_clips_mp4_as_one_part_decoded_to_its_frames(out: Path) -> None:
    with FakeVLMServer() as server:
        assert run(out, server, "--video", "--select", "one", "--min-confidence", "0") == 0
        records = server.completions()
    assert len(records) == ALL_CLIPS
    for record in records:
        assert len(video_urls(record.body)) == 1 and not image_urls(record.body)
    for entry in entries(out):
        frames = len(
            list(
                (out / entry["split"] / entry["duration"] / "video" / entry["video_data"]).glob(
                    "*.png"
                )
            )
        )
        answer = entry["conversations"][1]["value"]
        assert f"and a video of {frames} frames" in answer
        assert entry["answer_meta"]["turns"][0]["finish_reason"] == "stop"


def test_preset_legacy_sends_the_replaced_scripts_request(
    out: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    dsec = built_output(tmp_path_factory).parent / "dsec"
    frames = sorted((dsec / "train/synth_00/images/left/rectified").glob("*.png"))
    records = Manifest(StateLayout(out)).all_records()[("train", "synth_00")]
    image_idx = {f"synth_00_{r.duration}_{r.clip:06d}": r.image_idx for r in records.values()}
    with FakeVLMServer() as server:
        assert run(out, server, "--preset", "legacy", "--select", "one") == 0
        by_answer = {
            str(r.response["choices"][0]["message"]["content"]): r.body
            for r in server.completions()
            if r.response
        }
    provenance = json.loads((out / "train/1s/annotations.provenance.json").read_text())
    assert provenance["min_confidence"] == 0.5
    assert provenance["settings"]["max_tokens"] == 128
    for entry in entries(out):
        body = by_answer[entry["conversations"][1]["value"]]
        content = body["messages"][0]["content"]
        assert [p["type"] for p in content] == ["text", "image_url", "text"]
        assert content[0]["text"] == "Here is a camera image:"
        question = entry["conversations"][0]["value"].split("\n", 1)[1]
        assert content[2]["text"] == f"Question: {question}"
        assert body["max_tokens"] == 128
        sent = np.asarray(decode_image(content[1]["image_url"]["url"]).convert("RGB"), float)
        with Image.open(frames[image_idx[entry["id"]]]) as frame:  # its size, its frame
            assert sent.shape[:2] == (frame.height, frame.width)
            assert np.abs(sent - np.asarray(frame.convert("RGB"), float)).mean() < 6


def clip_with_style(style: str) -> ClipToAsk:
    return ClipToAsk(
        "s_1s_000000", "train", "s", "1s", 1.0, 0.0, (), (), (Path("e.png"),), event_style=style
    )


@pytest.mark.parametrize("style", ["last", "red", "blue", "gray"])
def test_the_legend_follows_the_builds_event_image_style(style: str) -> None:
    from egpt_dsec.annotate.prompt import legend

    text = legend(clip_with_style(style), video=False, event_images=True)
    assert ("red" in text or "blue" in text) == (style != "gray")
    assert ("gray" in text) == (style == "gray")
    assert "red" not in legend(clip_with_style("gray"), False, False)  # frames only


def test_the_prompt_names_the_style_the_output_was_built_with(out: Path) -> None:
    with FakeVLMServer() as server:
        assert run(out, server, "--event-images", "--select", "one", "--min-confidence", "0") == 0
        texts = {prompt_text(r.body) for r in server.completions()}
    style = load_last_config(StateLayout(out)).options_of(dataset.EVENT_IMAGE).style
    assert style == "last" and all("the latest change wins" in t for t in texts)


def test_frames_are_the_files_the_builds_frame_source_gives(out: Path) -> None:
    config = load_last_config(StateLayout(out))
    source = discover_sequences(config.dsec_root)[0]
    timestamps = np.loadtxt(source.files.timestamps, dtype=np.int64)
    linked = FrameSource.of(source, config, len(timestamps)).linked
    records = Manifest(StateLayout(out)).all_records()[("train", source.name)]
    for clip in dataset.find_clips(out):
        r = records[(clip.duration_label, int(clip.id.rsplit("_", 1)[1]))]
        assert list(clip.frame_paths) == linked[r.frame_start : r.frame_stop]
        assert clip.reference_frame == linked[r.image_idx]
        assert clip.mp4_path is not None and clip.mp4_path.is_file()


def test_without_dsec_the_clips_own_frame_folders_are_used(out: Path, tmp_path: Path) -> None:
    config = load_last_config(StateLayout(out))
    moved = tmp_path / "dsec-elsewhere"
    config.dsec_root.rename(moved)
    try:
        clips = dataset.find_clips(out)
    finally:
        moved.rename(config.dsec_root)
    assert len(clips) == ALL_CLIPS
    assert all(p.parent.parent.parent.name == "video" for c in clips for p in c.frame_paths)


def test_image_detail_is_sent_when_given(tmp_path: Path) -> None:
    path = tmp_path / "f.png"
    Image.new("RGB", (8, 6)).save(path)
    clip = ClipToAsk("s_1s_000000", "train", "s", "1s", 1.0, 0.0, (path,), (0.0,))
    settings = AnswerSettings("gpt-4o", DEFAULT_TEMPLATE, image=ImageOptions(detail="low"))
    builder = BodyBuilder(settings, ImageCache(settings.image))
    body = json.loads(builder.body(builder.prepare(clip), "q?"))
    parts = [p for p in body["messages"][0]["content"] if p["type"] == "image_url"]
    assert parts[0]["image_url"]["detail"] == "low"
    plain = replace(settings, image=ImageOptions())
    builder = BodyBuilder(plain, ImageCache(plain.image))
    content = json.loads(builder.body(builder.prepare(clip), "q?"))["messages"][0]["content"]
    assert [set(p["image_url"]) for p in content if p["type"] == "image_url"] == [{"url"}]


def test_event_view_frames_are_the_builds_even_without_frame_folders(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """With --frames-view event the clips show the frames warped into the event view.
    A build without frame folders keeps none: annotate warps those it shows with the
    build's own code, into the same files a build with frame folders keeps."""
    from egpt_dsec.config import BuildConfig
    from egpt_dsec.durations import parse_durations
    from egpt_dsec.pipeline import build

    dsec = built_output(tmp_path_factory).parent / "dsec"
    common = {"dsec_root": dsec, "durations": parse_durations("1s"), "frames_view": "event"}
    bare = BuildConfig(out=tmp_path / "bare", components=("event_image", "json"), **common)
    full = BuildConfig(out=tmp_path / "full", components=("video", "json"), **common)
    assert not build(bare).failures and not build(full).failures
    assert not list((bare.out / "train").glob("event_view_frames/*/*.png"))
    with FakeVLMServer() as server:
        args = ("--select", "one", "--frames", "2", "--image-format", "png")
        assert (
            run(bare.out, server, *args, "--image-size", "original", "--min-confidence", "0") == 0
        )
        sent = [decode_image(u) for r in server.completions() for u in image_urls(r.body)]
    kept = sorted((bare.out / "train").glob("event_view_frames/*/*.png"))
    assert kept and len(kept) < 20  # only the frames shown
    for path in kept:
        twin = full.out / path.relative_to(bare.out)
        assert path.read_bytes() == twin.read_bytes()  # the build's own warp, byte for byte
    shown = {np.asarray(Image.open(p).convert("RGB")).tobytes() for p in kept}
    assert {np.asarray(image.convert("RGB")).tobytes() for image in sent} == shown
    assert {image.size for image in sent} == {(640, 480)}
