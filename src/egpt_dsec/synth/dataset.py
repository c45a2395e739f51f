"""Whole synthetic sequences laid out exactly like a DSEC root (``layout.dsec``), in
either official layout, with the calibration of the camera pair. Each sequence draws
from its own seed stream, keyed by (seed, split, index).

The scene lives in the rectified event view; events are written at the raw (distorted)
pixels that ``rectify_map`` sends back to where they were generated, frames are the frame
camera's view (camRect1), as in DSEC. See :mod:`egpt_dsec.synth.calibration`. Each
moving shape is a labelled object: DSEC-Detection's ``tracks.npy`` in the raw event view
(:mod:`egpt_dsec.synth.labels`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from egpt_dsec import __version__
from egpt_dsec.events import SENSOR_WIDTH
from egpt_dsec.fs import write_if_changed
from egpt_dsec.layout.dsec import SYNTH_COMMAND, SequenceFiles, sequence_folder, synthetic_marker
from egpt_dsec.synth.calibration import SynthCalibration, raw_pixel_lookup
from egpt_dsec.synth.frames import SequenceClock, write_frames, write_timestamps
from egpt_dsec.synth.h5 import write_cam_to_cam, write_events_h5, write_rectify_map
from egpt_dsec.synth.labels import shape_classes, synth_tracks, write_tracks
from egpt_dsec.synth.scene import Scene
from egpt_dsec.synth.spec import SynthSpec
from egpt_dsec.synth.stream import EventChunk, event_chunks

TRAIN, TEST = "train", "test"
_SPLIT_KEYS = {TRAIN: 0, TEST: 1}


@dataclass(frozen=True)
class SequenceSlot:
    """One sequence to write: its split, name and index within the split."""

    split: str
    name: str
    index: int

    def folder(self, root: Path) -> Path:
        return sequence_folder(root, self.split, self.name)


def sequence_slots(spec: SynthSpec) -> list[SequenceSlot]:
    """``synth_00``... under train, then ``synth_test_00``... under test."""
    slots = []
    for split, prefix, count in (
        (TRAIN, "synth", spec.sequences),
        (TEST, "synth_test", spec.test_sequences),
    ):
        width = max(2, len(str(count - 1)))
        slots += [SequenceSlot(split, f"{prefix}_{i:0{width}d}", i) for i in range(count)]
    return slots


@dataclass(frozen=True)
class SequencePlan:
    """Everything random about one sequence, drawn from its own seed stream.

    Each part (clock, scene, events, calibration, the shapes' classes) has a child
    stream, so changing the frame size or the rate leaves the other parts unchanged.
    """

    clock: SequenceClock
    scene: Scene
    event_seed: np.random.SeedSequence
    calibration: SynthCalibration
    classes: NDArray[np.int64]  # each shape's DSEC-Detection class id

    def tracks(self) -> NDArray:
        """The labels of the sequence's shapes (``tracks.npy``)."""
        clock = self.clock
        return synth_tracks(
            self.scene.shapes, self.classes, clock.frames_us, clock.t_offset, self.calibration
        )


def plan_sequence(spec: SynthSpec, slot: SequenceSlot) -> SequencePlan:
    seeds = np.random.SeedSequence([spec.seed, _SPLIT_KEYS[slot.split], slot.index])
    clock_seed, scene_seed, event_seed, map_seed, class_seed = seeds.spawn(5)
    clock = SequenceClock.random(np.random.default_rng(clock_seed), spec.frame_count)
    scene = Scene.random(np.random.default_rng(scene_seed))
    calibration = SynthCalibration.random(np.random.default_rng(map_seed), spec.frame_size)
    classes = shape_classes(np.random.default_rng(class_seed), len(scene.shapes))
    return SequencePlan(clock, scene, event_seed, calibration, classes)


def raw_chunks(chunks: Iterable[EventChunk], lookup: NDArray[np.int64]) -> Iterator[EventChunk]:
    """Events generated at rectified pixels, moved to their raw pixels (``lookup``);
    those with no raw pixel are dropped."""
    for x, y, p, t in chunks:
        raw = lookup[y.astype(np.int64) * SENSOR_WIDTH + x]
        keep = raw >= 0
        ry, rx = np.divmod(raw[keep], SENSOR_WIDTH)
        yield rx.astype(np.uint16), ry.astype(np.uint16), p[keep], t[keep]


def write_sequence(folder: Path, spec: SynthSpec, slot: SequenceSlot) -> None:
    """Events, rectify map, calibration, labels, frames, then timestamps (written last,
    so a folder with timestamps is complete)."""
    plan = plan_sequence(spec, slot)
    calib = plan.calibration
    rectify_map = calib.rectify_map()
    lookup = raw_pixel_lookup(rectify_map)
    kept = np.count_nonzero(lookup >= 0) / lookup.size  # generate more, to keep the rate
    files = SequenceFiles(folder, layout=spec.layout)
    event_rng = np.random.default_rng(plan.event_seed)
    chunks = event_chunks(plan.scene, plan.clock.events_end_us, spec.rate / kept, event_rng)
    write_events_h5(files.events_h5, raw_chunks(chunks, lookup), plan.clock.t_offset)
    write_rectify_map(files.rectify_map, rectify_map)
    write_cam_to_cam(files.calibration, calib.cam_to_cam())
    write_tracks(files.tracks, plan.tracks())
    to_event = calib.calibration().frame_to_event_homography()
    write_frames(files, plan.scene, plan.clock.frames_rel_us, spec.frame_size, to_event)
    write_timestamps(files.timestamps, plan.clock.frames_us)


def write_synthetic_dsec(
    root: Path, spec: SynthSpec, on_sequence: Callable[[str], None] | None = None
) -> list[Path]:
    """Write every sequence of ``spec`` under ``root``; returns the sequence folders.

    ``on_sequence(name)`` is called after each sequence is complete (for progress).
    Existing files of the same names are replaced.
    """
    root = Path(root)
    write_marker(root, spec)
    folders = []
    for slot in sequence_slots(spec):
        folder = slot.folder(root)
        write_sequence(folder, spec, slot)
        folders.append(folder)
        if on_sequence is not None:
            on_sequence(slot.name)
    return folders


MARKER_TEXT = """# Synthetic test data, not DSEC

This folder was written by `egpt-dsec synth` (egpt-dsec {version}): event streams,
frames, timestamps and calibration generated from a random seed and laid out like a
DSEC root, for tests and demos. It holds no recording of the DSEC dataset, and a
dataset built from it is not DSEC data. Made with:

{commands}
"""


def write_marker(root: Path, spec: SynthSpec) -> None:
    """Mark ``root`` as synthetic (first, so even a partly written root is marked): the
    commands that wrote into it so far, this one added once."""
    marker = synthetic_marker(root)
    known = []
    if marker.is_file():
        lines = (line.strip() for line in marker.read_text(encoding="utf-8").splitlines())
        known = [line for line in lines if line.startswith(f"{SYNTH_COMMAND} ")]
    commands = list(dict.fromkeys([*known, spec.command()]))
    text = MARKER_TEXT.format(version=__version__, commands="\n".join(f"    {c}" for c in commands))
    root.mkdir(parents=True, exist_ok=True)
    write_if_changed(marker, text.encode("utf-8"))
