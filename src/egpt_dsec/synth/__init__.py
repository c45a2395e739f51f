"""A synthetic DSEC: coherent moving scenes written as events.h5, frames and timestamps.

Used for tests, demos and benchmarks without the 80 GB download; the layout, dtypes,
compression and clocks follow the real dataset.
"""

from __future__ import annotations

from egpt_dsec.synth.calibration import SynthCalibration
from egpt_dsec.synth.dataset import sequence_slots, write_sequence, write_synthetic_dsec
from egpt_dsec.synth.h5 import write_events_h5
from egpt_dsec.synth.scene import Scene
from egpt_dsec.synth.spec import SynthSpec

__all__ = [
    "Scene",
    "SynthCalibration",
    "SynthSpec",
    "sequence_slots",
    "write_events_h5",
    "write_sequence",
    "write_synthetic_dsec",
]
