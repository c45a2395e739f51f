"""``make install`` (and ``make demo``) leave Ray out, ``make test`` adds it: read from
``make -n`` (what make would run) against a venv folder in tmp, so nothing is installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def planned(target: str, venv: Path) -> list[str]:
    """The pip installs ``make <target>`` would run with this venv folder."""
    found = subprocess.run(
        ["make", "-n", target, f"VENV={venv}"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return re.findall(r"pip install --quiet (-e \S+)", found)


def stamp(venv: Path, name: str) -> None:
    """A stamp newer than pyproject.toml, as a finished install leaves it."""
    venv.mkdir(exist_ok=True)
    (venv / name).touch()
    later = time.time() + 5
    os.utime(venv / name, (later, later))


def test_install_and_demo_leave_ray_out(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    assert planned("install", venv) == ['-e ".[dev]"']
    assert planned("demo", venv) == ['-e ".[dev]"']


def test_test_adds_ray_once_after_install(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    assert planned("test", venv) == ['-e ".[dev]"', '-e ".[dev,ray]"']  # a fresh clone
    stamp(venv, ".installed")  # after make install or make demo
    assert planned("test", venv) == ['-e ".[dev,ray]"']
    stamp(venv, ".installed-ray")  # after make test: nothing more to install
    assert planned("test", venv) == []
    assert planned("lint", venv) == []
