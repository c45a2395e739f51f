"""Make docs/event_and_frame.png from a `make demo` output: an event image beside its frame."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from egpt_dsec.safe_npy import load_event_npy


def main(out: Path = Path("demo/out"), dsec: Path = Path("demo/dsec")) -> None:
    clip_dir = out / "train" / "1s"
    meta = load_event_npy(clip_dir / "event_npy" / "synth_00" / "000010.npy")
    events = Image.open(clip_dir / "event_image" / "synth_00" / "000010_4.png").convert("RGB")
    last_frame = meta["image_indices_in_clip"][-1]
    frame_path = dsec / "train" / "synth_00" / "images" / "left" / "rectified"
    frame = Image.open(frame_path / f"{last_frame:06d}.png").convert("RGB").resize(events.size)
    both = np.concatenate([np.asarray(events), np.full((480, 8, 3), 255, np.uint8), frame], 1)
    Image.fromarray(both).resize((both.shape[1] // 2, 240)).save("docs/event_and_frame.png")


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:]))
