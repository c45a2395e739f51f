"""``annotate --with-labels``: the clip's labelled objects go into the prompt, after the
images and before the question, and the answers' provenance records it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate_fixtures import CLIPS, annotate_args, built_output, output_copy, run_cli
from egpt_dsec.annotate.dataset import find_clips
from egpt_dsec.annotate.prompt import labelled_objects
from egpt_dsec.answers.prompts import LABELS_HEADER, NO_LABELLED_OBJECTS
from egpt_dsec.cli import main
from egpt_dsec.durations import Duration
from egpt_dsec.layout.dsec import SequenceFiles, sequence_folder
from egpt_dsec.layout.output import OutputLayout
from fake_vlm_server import FakeVLMServer
from label_reference import CLASSES, read_rows

HEADERS = (LABELS_HEADER, NO_LABELLED_OBJECTS)


def test_the_prompt_lists_the_clips_labelled_objects(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    out = output_copy(tmp_path_factory, tmp_path)
    dsec = built_output(tmp_path_factory).parent / "dsec"
    with FakeVLMServer() as server:
        args = annotate_args(out, "--select", "one", "--with-labels", endpoint=server.url)
        assert run_cli(args) == 2  # no labels yet: label-qa first, said in one line
        assert main(["label-qa", "--out", str(out), "--dsec-root", str(dsec)]) == 0
        assert run_cli(args) == 0
        bodies = [r.body for r in server.completions()]
    assert len(bodies) == sum(CLIPS.values())
    for body in bodies:
        content = body["messages"][0]["content"]  # type: ignore[index]
        kinds = [part["type"] for part in content]
        texts = [part.get("text", "") for part in content]
        last_image = max(i for i, kind in enumerate(kinds) if kind == "image_url")
        listed = [i for i, text in enumerate(texts) if text.startswith(HEADERS)]
        assert len(listed) == 1 and last_image < listed[0] < len(content) - 1
    settings = json.loads(
        OutputLayout(out).provenance_json("train", Duration.parse("1s")).read_text()
    )["settings"]
    assert settings["with_labels"] is True


def test_each_clip_lists_exactly_the_classes_labelled_in_its_window(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """Against synth's tracks.npy read by the independent label reference."""
    out = output_copy(tmp_path_factory, tmp_path)
    dsec = built_output(tmp_path_factory).parent / "dsec"
    assert main(["label-qa", "--out", str(out), "--dsec-root", str(dsec)]) == 0
    clips = find_clips(out, with_labels=True)
    with_objects = 0
    for clip in clips:
        files = SequenceFiles(sequence_folder(dsec, clip.split, clip.sequence))
        rows = read_rows(files.tracks, None)  # the build is in the raw event view
        t0 = round(clip.start_s * 1e6)
        t1 = t0 + round(clip.duration_s * 1e6)
        expected = sorted({CLASSES[r.cls] for r in rows if t0 <= r.t < t1})
        assert clip.labelled_objects is not None
        listed = sorted({line.split(":", 1)[0] for line in clip.labelled_objects})
        assert listed == expected, (clip.id, clip.labelled_objects)
        prompt = labelled_objects(clip.labelled_objects)
        assert prompt.startswith(HEADERS) and all(line in prompt for line in clip.labelled_objects)
        with_objects += bool(expected)
    assert with_objects >= 3
    assert all(c.labelled_objects is None for c in find_clips(out))  # only when asked
