"""The dataset card (``OUT/README.md``): the same bytes wherever it is built, a Hugging
Face card whose every config loads, honest about a synthetic input, and statistics and
answers that match the files the build and ``annotate`` wrote."""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from annotate_fixtures import CLIPS, annotate_args, built_output, output_copy, run_cli
from egpt_dsec.answers.questions import DEFAULT_QUESTIONS
from egpt_dsec.cli.config_args import add_config_arguments, config_from_args
from egpt_dsec.config import BuildConfig
from egpt_dsec.config.record import command_line, load_last_config
from egpt_dsec.durations import Duration, parse_durations
from egpt_dsec.kinds.dataset_json import DEFAULT_QUESTIONS as BUILD_QUESTIONS
from egpt_dsec.kinds.dataset_json import JsonOptions, read_questions
from egpt_dsec.kinds.event_image import EventImageOptions
from egpt_dsec.kinds.event_ref import EVENT_SOURCE_KEY
from egpt_dsec.kinds.event_tensor import TensorOptions
from egpt_dsec.kinds.mp4 import Mp4Options
from egpt_dsec.kinds.video import FrameFolderOptions
from egpt_dsec.layout.dsec import SYNTHETIC_MARKER, SequenceFiles, synthetic_marker
from egpt_dsec.layout.output import OutputLayout
from egpt_dsec.layout.state import STATE_DIR, StateLayout
from egpt_dsec.pipeline import build
from egpt_dsec.pipeline.build import publish
from egpt_dsec.render.tensor_spec import parse_tensor_specs
from egpt_dsec.source.discover import discover_sequences
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec
from fake_vlm_server import SERVED_MODEL, FakeVLMServer
from helpers import write_real_sequence

SPEC = SynthSpec(sequences=1, seconds=2.5, rate=2e4, seed=2, frame_size=(64, 48))
QUESTIONS = ("Where is the car going?", "Is the road wet?")
# The Hub's task categories (huggingface.js packages/tasks pipelines) the card may name.
HUB_TASKS = {"video-text-to-text", "image-text-to-text", "visual-question-answering"}


def synthetic_root(root: Path) -> Path:
    """A synthetic sequence whose frames stop for 1 s (timestamps 1.05 s -> 2.05 s): its
    windows in the gap have events but no frame, and those near it too few for an MP4."""
    write_synthetic_dsec(root, SPEC)
    timestamps = root / "train" / "synth_00" / "images" / "timestamps.txt"
    t = [int(v) for v in timestamps.read_text().split()]
    timestamps.write_text("".join(f"{v}\n" for v in t[:21] + [v + 1_000_000 for v in t[21:]]))
    return root


def config_for(root: Path, out: Path, questions: Path) -> BuildConfig:
    """Non-default options of every sort: a switch, a file, durations, tensors, a group."""
    return BuildConfig(
        root,
        out,
        durations=parse_durations("500ms,1s"),
        rectify_events=True,
        shard_seconds=None,
        event_tensor=TensorOptions(parse_tensor_specs("voxel:2")),
        json=JsonOptions(read_questions(questions)),
        mp4=Mp4Options(min_frames=12),
    )


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuildConfig, BuildConfig]:
    """One synthetic root, copied to another path; the same options into two outputs."""
    base = tmp_path_factory.mktemp("card")
    first = synthetic_root(base / "one" / "dsec")
    second = base / "elsewhere" / "other-root"
    shutil.copytree(first, second)
    questions = base / "questions.txt"
    questions.write_text("\n".join(QUESTIONS) + "\n")
    configs = (
        config_for(first, base / "out-a", questions),
        config_for(second, base / "deeper" / "out-b", questions),
    )
    for config in configs:
        assert not build(config).failures
    return configs


@pytest.fixture(scope="module")
def real_build(tmp_path_factory: pytest.TempPathFactory) -> BuildConfig:
    """DSEC's real events in a root without synth's marker: real DSEC to the card. The
    entries point into the source's events.h5 (``--event-format ref``), under the names
    of the replaced scripts."""
    base = tmp_path_factory.mktemp("card-real")
    write_real_sequence(base / "dsec")
    durations = parse_durations("500ms,1s")
    config = BuildConfig(
        base / "dsec", base / "out", durations=durations, event_format="ref", layout="legacy"
    )
    assert not build(config).failures
    return config


def card_of(config: BuildConfig | Path) -> str:
    out = config if isinstance(config, Path) else config.out
    return OutputLayout(out).card.read_text(encoding="utf-8")


def front_matter(card: str) -> dict[str, Any]:
    assert card.startswith("---\n")
    meta = yaml.safe_load(card.split("---\n", 2)[1])
    assert isinstance(meta, dict)
    return meta


def output_texts(out: Path) -> dict[str, str]:
    """Every file the dataset holds outside its state folder, read as text."""
    return {
        path.relative_to(out).as_posix(): path.read_bytes().decode("utf-8", "replace")
        for path in sorted(out.rglob("*"))
        if path.is_file() and STATE_DIR not in path.relative_to(out).parts
    }


def assert_no_machine_path(out: Path, *paths: Path) -> None:
    texts = output_texts(out)
    assert any(name.endswith(".json") for name in texts)
    for name, text in texts.items():
        for path in (out, *paths):
            assert str(path) not in text and str(path.resolve()) not in text, (name, path)
        if name.endswith((".json", ".md")):
            assert "/tmp" not in text, name


def test_the_same_input_and_options_give_the_same_card_anywhere(
    two_builds: tuple[BuildConfig, BuildConfig],
) -> None:
    a, b = two_builds
    assert card_of(a) == card_of(b)
    for config in two_builds:
        assert_no_machine_path(config.out, a.dsec_root, b.dsec_root, a.out, b.out)
    card = card_of(a)
    assert f"```sh\n{command_line(a)}\n```" in card and command_line(a) == command_line(b)
    assert "--questions questions.txt" in command_line(a)
    assert "\n".join(QUESTIONS) in card  # what questions.txt held


def _parsed(command: str, root: Path, out: Path, questions: Path) -> BuildConfig:
    """The command through the CLI's own flags, the placeholders filled in."""
    words = shlex.split(command)
    assert words[:2] == ["egpt-dsec", "build"]
    filled = {"DSEC": str(root), "OUT": str(out), "questions.txt": str(questions)}
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, BuildConfig)
    return config_from_args(parser.parse_args([filled.get(w, w) for w in words[2:]]), BuildConfig)


def test_the_command_line_parses_back_to_the_same_options(tmp_path: Path) -> None:
    questions = tmp_path / "questions.txt"
    questions.write_text("\n".join(QUESTIONS))
    root, out = tmp_path / "dsec", tmp_path / "out"
    many = replace(
        config_for(root, out, questions),
        splits=("train",),
        sequences=("a_00", "b 01"),
        overlap=0.25,
        camera="right",
        image_idx="nearest-end",
        frames_view="event",
        layout="legacy",
        components=("event_npy", "mp4", "json"),
        event_image=EventImageOptions(count=3, rate_hz=2.5, style="red", compress_level=6),
        video=FrameFolderOptions(frames="copy"),
        mp4=Mp4Options(preset="medium", crf=23, size=(320, 240), mode="encode", min_frames=1),
    )
    ref = BuildConfig(root, out, event_format="ref", shard_seconds=20.0, workers=3)
    cases = [BuildConfig(root, out), config_for(root, out, questions), many, ref]
    for config in cases:
        command = command_line(config)
        assert str(tmp_path) not in command and "--workers" not in command
        parsed = _parsed(command, root, out, questions)  # workers: the machine's default
        assert parsed == replace(config, workers=parsed.workers), command
    assert command_line(cases[0]) == "egpt-dsec build --dsec-root DSEC --out OUT"
    assert "--rectify-events" in command_line(cases[1]).split()
    assert "--tensors voxel:2" in command_line(cases[1])
    assert "--components" not in command_line(cases[1])  # --tensors adds event_tensor
    assert "--shard-seconds 0" in command_line(cases[1])
    assert "--components" not in command_line(ref) and "--event-format ref" in command_line(ref)
    assert "--sequences 'a_00,b 01'" in command_line(many)  # quoted for a shell


def test_the_card_is_a_hugging_face_card_whose_every_config_loads(
    two_builds: tuple[BuildConfig, BuildConfig],
) -> None:
    datasets = pytest.importorskip("datasets")
    config = two_builds[0]
    meta = front_matter(card_of(config))
    assert meta["language"] == ["en"] and set(meta["task_categories"]) <= HUB_TASKS
    assert meta["pretty_name"] and "event-camera" in meta["tags"]
    layout = OutputLayout(config.out)
    entries = json.loads(layout.split_dataset_json("train").read_text())
    assert 0 < len(entries) < 1000 and meta["size_categories"] == ["n<1K"]
    names = [c["config_name"] for c in meta["configs"]]
    # --min-video-frames 12: no 500 ms clip has an MP4, so no videollava_500ms config.
    assert not layout.videollava_json("train", parse_durations("500ms")[0]).exists()
    assert names == ["500ms", "1s", "all", "videollava_1s", "videollava_all"]
    for entry in meta["configs"]:
        loaded = datasets.load_dataset(str(config.out), entry["config_name"])
        for files in entry["data_files"]:
            rows = json.loads((config.out / files["path"]).read_text())
            assert loaded[files["split"]].num_rows == len(rows) > 0, entry["config_name"]
    default = datasets.load_dataset(str(config.out))  # the config marked default: all
    assert default["train"].num_rows == len(entries)


def test_the_size_category_follows_the_hubs_buckets() -> None:
    from egpt_dsec.writers.card import size_category

    cases = {0: "n<1K", 999: "n<1K", 1000: "1K<n<10K", 99_999: "10K<n<100K",
             100_000: "100K<n<1M", 2_500_000: "1M<n<10M", 10**12: "n>1T"}  # fmt: skip
    assert {n: size_category(n) for n in cases} == cases


def test_a_synthetic_input_is_marked_and_never_carded_as_dsec(
    two_builds: tuple[BuildConfig, BuildConfig], tmp_path: Path
) -> None:
    config = two_builds[0]
    marker = synthetic_marker(config.dsec_root)
    assert marker.name == SYNTHETIC_MARKER and "not DSEC" in marker.read_text()
    card = card_of(config)
    meta = front_matter(card)
    assert meta["license"] == "other" and "synthetic" in meta["tags"] and "dsec" not in meta["tags"]
    assert "Synthetic" in meta["pretty_name"] and "# Synthetic" in card
    for claim in ("cc-by-sa", "CC BY-SA", "Gehrig", "10.1109/LRA.2021.3068942", "bibtex"):
        assert claim not in card, claim
    assert f"{SPEC.command()}\n" in card and "--seed 2" in SPEC.command()
    # The marker is no split nor sequence: the same sequences as without it.
    copy = tmp_path / "dsec"
    shutil.copytree(config.dsec_root, copy)
    synthetic_marker(copy).unlink()
    assert [s.key for s in discover_sequences(config.dsec_root)] == [
        s.key for s in discover_sequences(copy)
    ]
    # Written again once the root is gone (annotate needs none), the card stays synthetic.
    out = tmp_path / "out"
    shutil.copytree(config.out, out, symlinks=True)
    publish(replace(load_last_config(StateLayout(out)), dsec_root=tmp_path / "gone"))
    assert card_of(out) == card


def test_a_dsec_input_keeps_dsecs_license_attribution_and_citation(
    real_build: BuildConfig,
) -> None:
    card = card_of(real_build)
    meta = front_matter(card)
    assert meta["license"] == "cc-by-sa-4.0" and "dsec" in meta["tags"]
    assert "Gehrig" in card and "10.1109/LRA.2021.3068942" in card
    assert "synthetic" not in card.lower() and "# DSEC clips" in card
    assert "--event-format ref --layout legacy" in card
    assert_no_machine_path(real_build.out, real_build.dsec_root)
    entries = json.loads(real_build.output.split_dataset_json("train").read_text())
    sources = {e[EVENT_SOURCE_KEY]["relative_to_dsec_root"] for e in entries}
    assert sources == {SequenceFiles(Path("train/interlaken_00_d")).events_h5.as_posix()}


def _stat_rows(card: str) -> dict[tuple[str, str], list[str]]:
    lines = card.split("## Statistics\n", 1)[1].split("\n## ", 1)[0].splitlines()
    head = next(line for line in lines if line.startswith("| split"))
    names = [c.strip() for c in head.strip("|").split("|")]
    rows = {}
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and cells[0] in ("train", "test"):
            rows[(cells[0], cells[1])] = dict(zip(names, cells, strict=True))
    return rows  # type: ignore[return-value]


def windows(config: BuildConfig, duration: Duration) -> int:
    """Windows of ``duration`` at 50% overlap between the first and last image."""
    (sequence,) = discover_sequences(config.dsec_root)
    t = [int(v) for v in sequence.files.timestamps.read_text().split()]
    return (t[-1] - t[0] - duration.us) // (duration.us // 2) + 1


def test_the_statistics_count_what_was_built(
    two_builds: tuple[BuildConfig, BuildConfig], real_build: BuildConfig
) -> None:
    """Clips, empty windows, clips without a frame or an MP4, checked against the JSON
    files the trainers read; the real events have empty windows."""
    for config in (two_builds[0], real_build):
        layout, rows = config.output, _stat_rows(card_of(config))
        assert set(rows) == {("train", "500ms"), ("train", "1s")}
        for (split, label), row in rows.items():
            duration = parse_durations(label)[0]
            entries = json.loads(layout.eventgpt_json(split, duration).read_text())
            path = layout.videollava_json(split, duration)
            videos = json.loads(path.read_text()) if path.exists() else []
            assert int(row["clips"]) == len(entries)
            assert int(row["no frame"]) == sum("video_data" not in e for e in entries)
            assert int(row["no MP4"]) == len(entries) - len(videos)
            assert int(row["events"].replace(",", "")) == sum(e["num_events"] for e in entries)
            assert int(row["clips"]) + int(row["empty windows"]) == windows(config, duration)
    synthetic, real = _stat_rows(card_of(two_builds[0])), _stat_rows(card_of(real_build))
    assert int(synthetic[("train", "500ms")]["no frame"]) > 0
    assert int(synthetic[("train", "500ms")]["no MP4"]) > int(
        synthetic[("train", "500ms")]["no frame"]
    )
    assert int(real[("train", "500ms")]["empty windows"]) > 0


def _answered(out: Path) -> dict[str, Any]:
    """The provenance of every annotated split and duration."""
    return {
        f"{s}/{d}": json.loads((out / s / d / "annotations.provenance.json").read_text())
        for s, d in CLIPS
    }


def test_the_card_of_an_annotated_output_shows_the_model_settings_counts_and_questions(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    out = output_copy(tmp_path_factory, tmp_path)
    with FakeVLMServer() as server:
        assert run_cli(annotate_args(out, "--min-confidence", "0", endpoint=server.url)) == 0
        scores = sorted(
            e["answer_meta"]["confidence"]
            for s, d in CLIPS
            for e in json.loads((out / s / d / "EventGPT_Instruction_Subset.json").read_text())
        )
        threshold = scores[len(scores) // 2]
        args = annotate_args(out, "--min-confidence", repr(threshold), endpoint=server.url)
        assert run_cli(args) == 0
    card, provenance = card_of(out), _answered(out)
    meta = front_matter(card)
    assert meta["annotations_creators"] == ["machine-generated"]
    answers = card.split("## Answers\n", 1)[1].split("\n## ", 1)[0]
    first = next(iter(provenance.values()))
    assert f"`{SERVED_MODEL}`" in answers and f"`{first['settings_key']}`" in answers
    for name in ("temperature", "max_tokens", "select", "min_confidence"):
        assert f"| `{name}` |" in answers
    assert f"| `min_confidence` | `{threshold!r}` |" in answers
    asked = [line.split(". ", 1)[1] for line in answers.splitlines() if line[:1].isdigit()]
    assert asked == list(DEFAULT_QUESTIONS) == first["questions"] and len(asked) == 10
    assert not any(q in card for q in BUILD_QUESTIONS)  # every group was annotated
    kept = 0
    for group, record in provenance.items():
        c = record["counts"]
        split, label = group.split("/")
        row = f"| {split} | {label} | {c['clips']:,} | {c['answered']:,} | {c['kept']:,} | "
        row += f"{c['filtered']:,} | {c['filtered_by_reason']['low_confidence']:,} |"
        assert row in answers, row
        kept += c["kept"]
    assert 0 < kept < sum(CLIPS.values())
    assert f"{kept:,} of {sum(CLIPS.values()):,} clips kept an answer" in answers
    assert record["prompt_template"].splitlines()[0] in answers
    root = built_output(tmp_path_factory).parent / "dsec"
    assert_no_machine_path(out, root, built_output(tmp_path_factory))
    assert "127.0.0.1" not in card  # answers are counted by how they came, not the host
