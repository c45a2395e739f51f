"""A synthetic DSEC: coherent moving scenes written as events.h5, frames and timestamps.

Used for tests, demos and benchmarks without the 80 GB download; the layout, dtypes,
compression and clocks follow the real dataset. Names load on first use, so the CLI
(which only needs ``SynthSpec``) starts without numba or h5py.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from egpt_dsec.synth.calibration import SynthCalibration
    from egpt_dsec.synth.dataset import sequence_slots, write_sequence, write_synthetic_dsec
    from egpt_dsec.synth.h5 import write_events_h5
    from egpt_dsec.synth.scene import Scene
    from egpt_dsec.synth.spec import SynthSpec

_HOME = {
    "Scene": "scene",
    "SynthCalibration": "calibration",
    "SynthSpec": "spec",
    "sequence_slots": "dataset",
    "write_events_h5": "h5",
    "write_sequence": "dataset",
    "write_synthetic_dsec": "dataset",
}

__all__ = [
    "Scene",
    "SynthCalibration",
    "SynthSpec",
    "sequence_slots",
    "write_events_h5",
    "write_sequence",
    "write_synthetic_dsec",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
