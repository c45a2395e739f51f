"""Make docs/event_and_frame.png from a `make demo` output: an event image beside its frame."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from egpt_dsec.durations import Duration
from egpt_dsec.kinds import EVENT_IMAGE, EVENT_NPY
from egpt_dsec.layout.dsec import SequenceFiles, sequence_folder
from egpt_dsec.layout.output import OutputLayout
from egpt_dsec.safe_npy import load_event_npy


def main(out: Path = Path("demo/out"), dsec: Path = Path("demo/dsec")) -> None:
    layout, one_second, clip = OutputLayout(out), Duration.parse("1s"), 10
    meta = load_event_npy(layout.clip_path(EVENT_NPY, "train", one_second, "synth_00", clip))
    image = layout.clip_path(EVENT_IMAGE, "train", one_second, "synth_00", clip, 4)
    events = Image.open(image).convert("RGB")
    last_frame = meta["image_indices_in_clip"][-1]
    files = SequenceFiles(sequence_folder(dsec, "train", "synth_00"))
    frame = Image.open(files.frame(last_frame)).convert("RGB").resize(events.size)
    both = np.concatenate([np.asarray(events), np.full((480, 8, 3), 255, np.uint8), frame], 1)
    Image.fromarray(both).resize((both.shape[1] // 2, 240)).save("docs/event_and_frame.png")


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:]))
