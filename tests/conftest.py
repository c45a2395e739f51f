"""Seeded factories that write tiny DSEC roots into tmp folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from egpt_dsec.synth import SynthSpec, write_synthetic_dsec
from helpers import write_real_sequence


@pytest.fixture(scope="session")
def small_dsec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One synthetic train sequence (6 s) plus the real events as a second sequence."""
    root = tmp_path_factory.mktemp("dsec")
    spec = SynthSpec(sequences=1, seconds=6.0, rate=4e4, seed=3, frame_size=(160, 120))
    write_synthetic_dsec(root, spec)
    write_real_sequence(root)
    return root
