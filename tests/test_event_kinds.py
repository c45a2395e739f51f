"""The kinds that read a clip's events besides EventGPT's: EventBench's raw ``.npz`` and the
event tensors, built in the same pass, checked against the raw HDF5, the slow tensor
reference, the plan, verify and a second build with threads."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import parse_durations
from egpt_dsec.events import Events
from egpt_dsec.kinds.event_npz import EVENT_NPZ
from egpt_dsec.kinds.event_tensor import EVENT_TENSOR, TensorOptions
from egpt_dsec.layout.output import OutputLayout
from egpt_dsec.pipeline import build
from egpt_dsec.render.tensor_spec import parse_tensor_specs
from egpt_dsec.render.tensors import tensor_bytes
from egpt_dsec.reports.plan.collect import estimate_build
from egpt_dsec.reports.verify import fix_output, verify_output
from egpt_dsec.source.discover import discover_sequences
from helpers import tree_hashes
from reference import reference_events
from tensor_reference import reference_tensor

DURATIONS = parse_durations("500ms,2s")
SPECS = parse_tensor_specs(
    "voxel:5,voxel:3:norm,histogram:10:10,frames:4,countframes:3,timesurface:2"
)
SLOW_REFERENCE_EVENTS = 60_000  # clips up to this size are also checked by per-event loops


@pytest.fixture(scope="module")
def config(small_dsec: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildConfig:
    config = BuildConfig(
        small_dsec, tmp_path_factory.mktemp("out"), durations=DURATIONS, workers=1,
        components=("event_npz", "json"), event_tensor=TensorOptions(SPECS),
    )  # fmt: skip
    assert not build(config).failures
    return config


def eventbench_load(path: Path) -> dict[str, np.ndarray]:
    """What EventBench's --use_npz path does: np.load without pickle, the four members
    cast to its dtypes (then its bin selector starts from the time span)."""
    data = np.load(path)
    return {
        "p": data["p"].astype(np.uint8, copy=False),
        "x": data["x"].astype(np.uint16, copy=False),
        "y": data["y"].astype(np.uint16, copy=False),
        "t": data["t"].astype(np.int64, copy=False),
    }


def clips(config: BuildConfig) -> list[tuple[str, dict[str, object]]]:
    found = []
    for duration in DURATIONS:
        path = OutputLayout(config.out).eventgpt_json("train", duration)
        found += [(duration.label, item) for item in json.loads(path.read_text())]
    return found


def test_every_clip_has_its_npz_and_tensors_from_the_source(config: BuildConfig) -> None:
    layout, sources = config.output, {s.name: s for s in discover_sequences(config.dsec_root)}
    slow = 0
    for label, item in clips(config):
        duration = next(d for d in DURATIONS if d.label == label)
        t0, t1 = int(item["time_start"]), int(item["time_end"])  # type: ignore[call-overload]
        ref = reference_events(sources[str(item["sequence"])].files.events_h5, t0, t1)
        npz = layout.kind_dir("train", duration, EVENT_NPZ) / str(item["event_npz"])
        got = eventbench_load(npz)
        for key in ("p", "t", "x", "y"):
            np.testing.assert_array_equal(got[key], ref[key])
        assert int(got["t"].max() - got["t"].min()) < duration.us
        tensors = item["event_tensor"]
        assert isinstance(tensors, dict) and list(tensors) == [s.text for s in SPECS]
        events = Events(ref["p"], ref["t"], ref["x"], ref["y"])
        for spec in SPECS:
            path = layout.kind_dir("train", duration, EVENT_TENSOR) / tensors[spec.text]
            data = path.read_bytes()
            assert data == tensor_bytes(spec, events, t0, t1)
            if len(events) <= SLOW_REFERENCE_EVENTS:
                loaded = np.load(path)  # plain .npy: no pickle needed
                np.testing.assert_array_equal(loaded, reference_tensor(spec, ref, t0, t1))
                slow += 1
    assert slow >= 3 * len(SPECS)


def test_plan_counts_their_files_and_bytes(config: BuildConfig) -> None:
    """Tensors are exact; an npz holds 13 bytes per event, counted from the millisecond
    index (a clip's ends are exact only to the millisecond there)."""
    estimate = estimate_build(replace(config, out=config.out.parent / "plan-only"))
    for kind, tolerance in ((EVENT_TENSOR, 0.0), (EVENT_NPZ, 1e-3)):
        files = sorted(config.output.split_dir("train").rglob(f"{kind.name}/*/*"))
        assert estimate.total.files[kind.name] == len(files)
        written = sum(f.stat().st_size for f in files)
        assert abs(estimate.total.bytes[kind.name] - written) <= tolerance * written


def test_verify_recomputes_them_and_fix_restores_the_bytes(
    config: BuildConfig, tmp_path: Path
) -> None:
    assert verify_output(config.out, config.dsec_root).ok()
    out = tmp_path / "copy"
    build(replace(config, out=out))
    clean = tree_hashes(out)
    layout = OutputLayout(out)
    tensor = next(iter(sorted(layout.split_dir("train").rglob("event_tensor/*/*_voxel5.npy"))))
    data = bytearray(tensor.read_bytes())
    data[-3] ^= 0x40  # one value of the last bin
    tensor.write_bytes(bytes(data))
    npz = next(iter(sorted(layout.split_dir("train").rglob("event_npz/*/*.npz"))))
    npz.write_bytes(npz.read_bytes()[:-100])
    stray = tensor.with_name(tensor.name.replace("voxel5", "voxel7"))
    stray.write_bytes(b"not a tensor of this build")
    report = verify_output(out, config.dsec_root)
    bad = {p.path: p.what for p in report.problems}
    assert "differs from the source events" in bad[tensor]
    assert npz in bad and stray in bad
    assert not verify_output(out).ok()  # without DSEC: the npz and the stray file
    fix_output(out, report)
    build(replace(config, out=out))
    assert tree_hashes(out) == clean


def test_threads_give_the_same_bytes(config: BuildConfig, tmp_path: Path) -> None:
    threaded = replace(config, out=tmp_path / "threads", workers=2, shard_seconds=1.0)
    assert not build(threaded).failures
    assert tree_hashes(threaded.out) == tree_hashes(config.out)


def test_tensors_need_specs_and_specs_ask_for_tensors(small_dsec: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--tensors"):
        BuildConfig(small_dsec, tmp_path, components=("event_tensor",))
    asked = BuildConfig(small_dsec, tmp_path, event_tensor=TensorOptions(SPECS[:1]))
    assert "event_tensor" in asked.components
