"""label-qa: every answer equals the README's definitions recomputed independently from
synth's ``tracks.npy`` (every duration, both views), every multiple-choice item has
exactly one right option, ``score`` gives 1 for the right answers and about 1/4 for
random ones, and the files are deterministic, verified, carded and shown by status."""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pytest

from annotate_fixtures import annotate_args, built_output, output_copy
from annotate_fixtures import run_cli as run_annotate
from egpt_dsec.cli import main
from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import DEFAULT_DURATIONS, Duration
from egpt_dsec.humanize import format_bytes
from egpt_dsec.kinds.label_qa import LabelQaOptions
from egpt_dsec.labels import TASKS, Tracks, clip_objects, describe_objects
from egpt_dsec.layout.dsec import SequenceFiles, sequence_folder
from egpt_dsec.layout.output import LABEL_FILES, OutputLayout
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.pipeline import build
from egpt_dsec.reports.status import collect_status, format_table
from egpt_dsec.reports.verify import verify_output
from egpt_dsec.state.labels import LabelStore
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec
from egpt_dsec.synth.dataset import plan_sequence, sequence_slots
from fake_vlm_server import FakeVLMServer
from helpers import copy_build, tree_hashes
from label_reference import CLASSES, Expected, read_rows
from label_reference import expected_answers as reference

SPEC = SynthSpec(sequences=1, test_sequences=1, seconds=17.0, rate=2e4, seed=5, frame_size=(64, 48))
COMPONENTS = ("event_npy", "json", "card")
SEED = 3
VIEWS = ("raw", "rectified")


@pytest.fixture(scope="module")
def dsec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("labels") / "dsec"
    write_synthetic_dsec(root, SPEC)
    return root


def cli(*argv: str) -> int:
    return main(list(argv))


@pytest.fixture(scope="module")
def outputs(dsec: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuildConfig]:
    """Every default duration in both views: the raw view built, then label-qa on it;
    the rectified view built with label_qa among its components."""
    base = tmp_path_factory.mktemp("outs")
    raw = BuildConfig(dsec, base / "raw", components=COMPONENTS)
    assert not build(raw).failures
    assert cli("label-qa", "--out", str(raw.out), "--dsec-root", str(dsec),
               "--multiple-choice", "--seed", str(SEED)) == 0  # fmt: skip
    options = LabelQaOptions(multiple_choice=True, seed=SEED)
    rectified = BuildConfig(
        dsec,
        base / "rectified",
        components=(*COMPONENTS, "label_qa"),
        rectify_events=True,
        label_qa=options,
    )
    assert not build(rectified).failures
    return {"raw": replace(raw, components=(*COMPONENTS, "label_qa"), label_qa=options),
            "rectified": rectified}  # fmt: skip


def groups(config: BuildConfig) -> list[tuple[str, Any]]:
    layout = config.output
    return [
        (split, d)
        for split in ("train", "test")
        for d in DEFAULT_DURATIONS
        if layout.eventgpt_json(split, d).is_file()
    ]


def load(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text()) if path.is_file() else []


def reference_rows(config: BuildConfig, split: str, sequence: str) -> list:
    files = SequenceFiles(sequence_folder(config.dsec_root, split, sequence))
    return read_rows(files.tracks, files.rectify_map if config.rectify_events else None)


_MOTION = {
    "It is approaching.": "approaching",
    "It is moving away.": "moving away",
    "It is crossing to the left.": "crossing left",
    "It is crossing to the right.": "crossing right",
    "It is still relative to the camera.": "still",
}


def answer_value(task: str, answer: str) -> object:
    """What the answer text says, read back from its words."""
    if task == "count":
        match = re.fullmatch(r"There (?:is|are) (\d+) \w+\.", answer)
        assert match, answer
        return int(match.group(1))
    if task == "presence":
        assert answer in ("Yes.", "No."), answer
        return answer == "Yes."
    if task == "position":
        match = re.fullmatch(
            r"The largest object is a \w+, (?:on|in) the (\w+) and (\w+)\.", answer
        )
        assert match, answer
        return (match.group(1), match.group(2))
    if task == "motion":
        return _MOTION[answer]
    if task == "grounding":
        return json.loads(answer)
    match = re.fullmatch(r"At (\d+\.\d\d) s\.", answer)
    assert match, answer
    return match.group(1)


def as_written(e: Expected) -> tuple:
    value = f"{e.value:.2f}" if e.task == "timing" else e.value
    return (e.task, e.cls, value, e.track_ids, e.label_times)


def written(entry: dict[str, Any]) -> tuple:
    meta = entry["answer_meta"]
    assert meta["source"] == "labels"
    assert entry["conversations"][0]["value"].startswith("<event>\n")
    value = answer_value(meta["task"], entry["conversations"][1]["value"])
    return (meta["task"], meta["class"], value, meta["track_ids"], meta["label_times"])


@pytest.mark.parametrize("view", VIEWS)
def test_every_answer_equals_an_independent_recomputation(
    outputs: dict[str, BuildConfig], view: str
) -> None:
    config = outputs[view]
    layout, seen, clips = config.output, Counter(), 0
    rows = {key: reference_rows(config, *key) for key in
            (("train", "synth_00"), ("test", "synth_test_00"))}  # fmt: skip
    for split, duration in groups(config):
        asked = defaultdict(list)
        for entry in load(layout.label_qa_json(split, duration)):
            asked[entry["id"].rsplit("_", 2)[0]].append(entry)
        assert {entry["duration"] for v in asked.values() for entry in v} <= {duration.label}
        for clip in load(layout.eventgpt_json(split, duration)):
            clip_id = f"{clip['sequence']}_{clip['duration']}_{clip['clip']}"
            expected = reference(rows[(split, clip["sequence"])], clip["time_start"],
                                 clip["time_end"], SEED, clip_id, list(TASKS))  # fmt: skip
            got = [written(e) for e in asked.pop(clip_id, [])]
            assert got == [as_written(e) for e in expected], clip_id
            seen.update(e.task for e in expected)
            clips += 1
        assert not asked  # no question about a clip the dataset does not hold
    assert set(seen) == set(TASKS) and clips > 200, seen
    assert seen["presence"] % 2 == 0


def items_of(config: BuildConfig) -> list[tuple[str, Any, dict[str, Any]]]:
    layout = config.output
    return [
        (split, d, item)
        for split, d in groups(config)
        for item in load(layout.label_mc_json(split, d))
    ]


def iou(a: list[int], b: list[int]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def right_options(item: dict[str, Any], e: Expected, present: set[str]) -> list[int]:
    """Which of the four options the recomputed answer makes right."""
    task, options = item["task"], item["options"]
    if task == "grounding":
        return [i for i, o in enumerate(options) if iou(json.loads(o), e.value) >= 0.5]
    if task == "presence":
        return [i for i, o in enumerate(options) if o in present]
    if task == "position":
        return [i for i, o in enumerate(options) if tuple(o.split(", ")) == e.value]
    want = f"{e.value:.2f} s" if task == "timing" else str(e.value)  # timing, count, motion
    return [i for i, o in enumerate(options) if o == want]


@pytest.mark.parametrize("view", VIEWS)
def test_every_multiple_choice_item_has_exactly_one_right_option(
    outputs: dict[str, BuildConfig], view: str
) -> None:
    config = outputs[view]
    rows = {key: reference_rows(config, *key) for key in
            (("train", "synth_00"), ("test", "synth_test_00"))}  # fmt: skip
    by_id = {e["id"]: e for s, d in groups(config) for e in load(config.output.label_qa_json(s, d))}
    tasks = Counter()
    for split, _, item in items_of(config):
        assert len(item["options"]) == 4 and len(set(item["options"])) == 4
        entry = by_id[item["id"]]
        clip_id = item["id"].rsplit("_", 2)[0]
        inside = [r for r in rows[(split, item["sequence"])]
                  if item["time_start"] <= r.t < item["time_end"]]  # fmt: skip
        present = {r.cls for r in inside}
        expected = reference(rows[(split, item["sequence"])], item["time_start"],
                             item["time_end"], SEED, clip_id, [item["task"]])  # fmt: skip
        e = next(x for x in expected if as_written(x) == written(entry))
        right = right_options(item, e, {CLASSES[k] for k in present})
        assert right == [item["answer"]], item
        assert item["event_data"] == entry["event_data"]  # the clip's paths come along
        tasks[item["task"]] += 1
    assert set(tasks) == set(TASKS), tasks


def score(out: Path, predictions: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert cli("score", "--out", str(out), "--predictions", str(predictions), "--format",
               "json") == 0  # fmt: skip
    return json.loads(capsys.readouterr().out)


def test_score_is_one_for_the_right_answers_and_a_quarter_for_random_ones(
    outputs: dict[str, BuildConfig], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = outputs["raw"].out
    items = [item for _, _, item in items_of(outputs["raw"])]
    assert len(items) > 2000
    right, guess = tmp_path / "right.jsonl", tmp_path / "random.jsonl"
    right.write_text("".join(json.dumps({"id": i["id"], "answer": i["answer"]}) + "\n"
                             for i in items))  # fmt: skip
    draw = random.Random(0)
    guess.write_text("".join(json.dumps({"id": i["id"], "answer": draw.randrange(4)}) + "\n"
                             for i in items))  # fmt: skip
    perfect = score(out, right, capsys)
    assert perfect["accuracy"] == 1.0 and perfect["items"] == len(items)
    assert set(perfect["by_task"]) == set(TASKS)
    assert {d["accuracy"] for d in perfect["by_duration"].values()} == {1.0}
    assert set(perfect["by_split"]) == {"train", "test"}
    chance = score(out, guess, capsys)
    assert abs(chance["accuracy"] - 0.25) < 0.04, chance["accuracy"]
    assert cli("score", "--out", str(out), "--predictions", str(right)) == 0
    table = capsys.readouterr().out
    assert "accuracy 1.0000 over" in table and "grounding" in table and "16s" in table
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "answer": "b"}\n')
    assert cli("score", "--out", str(out), "--predictions", str(bad)) == 2
    assert "not an option index" in capsys.readouterr().err


def test_the_files_are_deterministic_and_verified(
    outputs: dict[str, BuildConfig], dsec: Path, tmp_path: Path
) -> None:
    config = copy_build(outputs["raw"], tmp_path / "out")
    before = tree_hashes(config.out, card=True)
    assert cli("label-qa", "--out", str(config.out), "--dsec-root", str(dsec),
               "--multiple-choice", "--seed", str(SEED)) == 0  # fmt: skip
    assert tree_hashes(config.out, card=True) == before
    assert verify_output(config.out).ok()
    label_file = config.output.label_qa_json("train", DEFAULT_DURATIONS[1])
    label_file.write_text("[]\n")
    report = verify_output(config.out)
    assert [(p.component, p.path) for p in report.problems] == [("label_qa", label_file)]
    assert cli("verify", "--out", str(config.out), "--fix") == 0
    assert tree_hashes(config.out, card=True) == before


def test_another_seed_rephrases_but_answers_the_same(
    outputs: dict[str, BuildConfig], dsec: Path, tmp_path: Path
) -> None:
    config = copy_build(outputs["raw"], tmp_path / "out")
    path = config.output.label_qa_json("train", DEFAULT_DURATIONS[2])
    first = load(path)
    assert cli("label-qa", "--out", str(config.out), "--dsec-root", str(dsec), "--seed", "9",
               "--tasks", "count,position,grounding") == 0  # fmt: skip
    again = load(path)
    assert [e["answer_meta"] for e in again] == [
        e["answer_meta"] for e in first if e["answer_meta"]["task"] in ("count", "position",
                                                                       "grounding")
    ]  # fmt: skip
    questions = Counter(e["conversations"][0]["value"] for e in again)
    assert questions != Counter(
        e["conversations"][0]["value"]
        for e in first
        if e["answer_meta"]["task"] in ("count", "position", "grounding")
    )
    phrasings = {e["conversations"][0]["value"].split(" ")[0] for e in again}
    assert len(phrasings) >= 4  # several phrasings of each question
    assert not config.output.label_mc_json("train", DEFAULT_DURATIONS[2]).exists()


def test_merged_turns_follow_the_answer_and_leave_with_the_option(
    outputs: dict[str, BuildConfig], dsec: Path, tmp_path: Path
) -> None:
    config = copy_build(outputs["raw"], tmp_path / "out")
    one = DEFAULT_DURATIONS[1]
    plain = {e["id"]: e for e in load(config.output.eventgpt_json("train", one))}
    assert cli("label-qa", "--out", str(config.out), "--dsec-root", str(dsec), "--seed",
               str(SEED), "--merge-labels", "--durations", "1s") == 0  # fmt: skip
    labels = defaultdict(list)
    for e in load(config.output.label_qa_json("train", one)):
        labels[e["id"].rsplit("_", 2)[0]].append(e)
    merged = load(config.output.eventgpt_json("train", one))
    assert merged and all(e["id"] in labels for e in merged)
    for entry in merged:
        base, asked = plain[entry["id"]], labels[entry["id"]]
        turns = entry["conversations"]
        assert turns[:2] == base["conversations"]  # the model's turn first
        questions = [t["value"] for t in turns[2::2]]
        assert questions == [e["conversations"][0]["value"].removeprefix("<event>\n")
                             for e in asked]  # fmt: skip
        assert [t["value"] for t in turns[3::2]] == [e["conversations"][1]["value"] for e in asked]
        assert entry["label_meta"] == [e["answer_meta"] for e in asked]
    combined = load(config.output.split_dataset_json("train"))
    assert sum("label_meta" in e for e in combined) == len(merged)  # only the 1 s clips
    assert not config.output.label_qa_json("train", DEFAULT_DURATIONS[0]).exists()
    assert verify_output(config.out).ok()
    assert cli("label-qa", "--out", str(config.out), "--dsec-root", str(dsec)) == 0
    assert not any("label_meta" in e for e in load(config.output.eventgpt_json("train", one)))


def test_status_and_the_card_show_the_questions_and_their_answers(
    outputs: dict[str, BuildConfig],
) -> None:
    out = outputs["raw"].out
    status = collect_status(out)
    assert {(g["split"], g["duration"]) for g in status.labels} == {
        (s, d.label) for s, d in groups(outputs["raw"])
    }
    text = format_table(status)
    assert "label questions (raw event view):" in text
    presence = next(line for line in text.splitlines() if line.strip().startswith("presence:"))
    assert re.search(r"no 50% \(([\d,]+)\), yes 50% \(\1\)", presence), presence
    assert re.search(r"count: 1 \d+% \(\d+\)", text)
    card = OutputLayout(out).card.read_text()
    assert "## Label questions" in card and "| presence | no 50%" in card
    for name in ("labels_1s", "labels_mc_16s"):
        assert f"config_name: {name}" in card
        loaded = datasets.load_dataset(str(out), name)
        assert set(loaded) == {"train", "test"} and loaded["train"].num_rows > 0
    assert _card_cell(card, "train", "1s", "label_qa") == format_bytes(
        sum(_size(OutputLayout(out).duration_dir("train", Duration.parse("1s")) / name)
            for name in LABEL_FILES)
    )  # fmt: skip
    item = datasets.load_dataset(str(out), "labels_mc_1s")["train"][0]
    assert len(item["options"]) == 4 and 0 <= item["answer"] < 4
    assert "raw event view" in json.dumps(
        json.loads(OutputLayout(out).label_summary_json("train", DEFAULT_DURATIONS[0]).read_text())
    )


def _card_cell(card: str, split: str, duration: str, column: str) -> str:
    """The card's statistics cell of ``column`` in the row of ``split`` and ``duration``."""
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in card.splitlines()]
    head = next(r for r in rows if r[:2] == ["split", "duration"])
    row = next(r for r in rows if r[:2] == [split, duration])
    return row[head.index(column)]


def _size(path: Path) -> int:
    return path.stat().st_size


def test_a_clips_objects_are_one_call_away(outputs: dict[str, BuildConfig]) -> None:
    """What ``annotate --with-labels`` will put in a prompt: class, position, motion."""
    config = outputs["raw"]
    files = SequenceFiles(sequence_folder(config.dsec_root, "train", "synth_00"))
    tracks = Tracks.from_dsec(np.load(files.tracks, allow_pickle=False))
    t0 = int(tracks.t[0])
    facts = clip_objects(tracks, t0, t0 + 2_000_000)
    assert facts and {f.track_id for f in facts} == set(
        tracks.window(t0, t0 + 2_000_000).track_id.tolist()
    )
    lines = describe_objects(facts)
    assert all(
        re.fullmatch(
            r"\w+: (left|centre|right), (near|far)(, [a-z ]+)? \(\d+\.\d\d-\d+\.\d\d s\)", line
        )
        for line in lines
    ), lines


@pytest.mark.parametrize("view", VIEWS)
def test_the_boxes_stay_on_the_objects_of_their_view(
    outputs: dict[str, BuildConfig], view: str
) -> None:
    """The kept boxes (what every answer is read from) cover the synthetic shapes where
    the build's event images and event-view frames show them: in the raw view the
    shapes seen through the lens, in the rectified view the scene itself (drawn there
    by synth). Rectified boxes cover the scene's shapes closely; raw ones less so."""
    config = outputs[view]
    slot = sequence_slots(SPEC)[0]
    plan = plan_sequence(SPEC, slot)
    tracks = LabelStore(StateLayout(config.out)).load(slot.split, slot.name)
    assert tracks is not None
    background = plan.scene.background(640, 480, 3)
    for k in (20, 150, 300):
        t = int(plan.clock.frames_us[k])
        shapes = np.abs(plan.scene.render((t - plan.clock.t_offset) / 1e6, 640, 480) - background)
        mask = shapes.max(axis=2) > 0.01
        covered = np.zeros_like(mask)
        rows = tracks.window(t, t + 1)
        for i in range(len(rows)):
            x0, y0 = int(np.floor(rows.x0[i])), int(np.floor(rows.y0[i]))
            x1, y1 = int(np.ceil(rows.x1[i])), int(np.ceil(rows.y1[i]))
            covered[max(y0 - 1, 0) : y1 + 1, max(x0 - 1, 0) : x1 + 1] = True
        share = covered[mask].mean()
        assert share > (0.99 if view == "rectified" else 0.9), (k, share)


def test_merged_turns_come_after_the_models_answer_and_survive_annotate(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """An annotated output: the label turns follow the model's kept answer, and a later
    annotate run (which rewrites the JSON files) keeps them."""
    out = output_copy(tmp_path_factory, tmp_path)
    dsec = built_output(tmp_path_factory).parent / "dsec"
    with FakeVLMServer() as server:
        args = annotate_args(out, "--select", "one", "--min-confidence", "0", endpoint=server.url)
        assert run_annotate(args) == 0
        path = OutputLayout(out).eventgpt_json("train", DEFAULT_DURATIONS[1])
        answered = {e["id"]: e for e in load(path)}
        assert cli("label-qa", "--out", str(out), "--dsec-root", str(dsec), "--merge-labels") == 0
        merged = load(path)
        assert run_annotate(args) == 0
        assert load(path) == merged
    assert [e["id"] for e in merged] == list(answered)
    for entry in merged:
        model = answered[entry["id"]]
        assert entry["conversations"][:2] == model["conversations"]
        assert entry["conversations"][1]["value"]  # the model's answer, then the labels'
        assert entry["answer_meta"] == model["answer_meta"]
        assert len(entry["conversations"]) == 2 + 2 * len(entry["label_meta"]) > 2
        assert {m["source"] for m in entry["label_meta"]} == {"labels"}
    assert verify_output(out).ok()
