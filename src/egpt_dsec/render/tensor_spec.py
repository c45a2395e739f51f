"""Event-tensor specs: what ``--tensors voxel:5,histogram:10,timesurface:4:50ms`` asks for.

One spec is ``NAME:BINS[:PARAM]``:

============  ==================  ====================  =======  ==========================
name          shape               dtype                 PARAM    default
============  ==================  ====================  =======  ==========================
voxel         (bins, H, W)        float16 (``<f2``)     norm     not normalized
histogram     (bins, 2, H, W)     uint8                 cutoff   255 (1..255)
frames        (bins, H, W)        uint8                 none
countframes   (bins, 2, H, W)     uint8                 none
timesurface   (bins, 2, H, W)     float16 (``<f2``)     tau      the bin length (t1-t0)/bins
============  ==================  ====================  =======  ==========================

``bins`` is 1..1000 (1..64 for ``voxel:B:norm``, which holds the clip's whole grid);
axis 1 of the 4-d kinds is the polarity, 0 = OFF (p == 0), 1 = ON.
``tau`` is a whole number of ``us``, ``ms`` or ``s`` (``timesurface:4:50ms``). The exact
definitions are in docs/tensors.md and in :mod:`egpt_dsec.render.tensors`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

TENSOR_NAMES = ("voxel", "histogram", "frames", "countframes", "timesurface")
MAX_BINS = 1000
# voxel:B:norm keeps the clip's float32 grid until its end (B x 1.2 MB at 640x480).
MAX_NORMALIZED_BINS = 64
NORM = "norm"
DEFAULT_CUTOFF = 255  # RVT's StackedHistogram(count_cutoff=None) clips at 255
_UNIT_US = {"us": 1, "ms": 1_000, "s": 1_000_000}
_ITEM = re.compile(r"^([a-z]+):(\d+)(?::([0-9a-z]+))?$")
_TAU = re.compile(r"^(\d+)(us|ms|s)$")
_FORMS = (
    "voxel:B[:norm], histogram:B[:CUTOFF], frames:B, countframes:B, timesurface:B[:TAU] "
    "with B in 1..1000 (1..64 with norm), CUTOFF in 1..255, TAU like 500us, 50ms, 1s "
    "(e.g. voxel:5,histogram:10,timesurface:4:50ms)"
)
_FLOAT16 = np.dtype("<f2")
_UINT8 = np.dtype("u1")


def format_tau(us: int) -> str:
    """Microseconds in the largest unit that divides them: 50000 -> ``50ms``."""
    for unit in ("s", "ms"):
        if us % _UNIT_US[unit] == 0:
            return f"{us // _UNIT_US[unit]}{unit}"
    return f"{us}us"


@dataclass(frozen=True)
class TensorSpec:
    """One requested event tensor. ``cutoff`` only for histogram; ``tau_us`` only for
    timesurface (None: tau = the bin length of the clip); ``normalize`` only for voxel."""

    name: str
    bins: int
    cutoff: int | None = None
    tau_us: int | None = None
    normalize: bool = False

    def __post_init__(self) -> None:
        if self.name not in TENSOR_NAMES:
            raise ValueError(f"unknown tensor {self.name!r}: use one of {', '.join(TENSOR_NAMES)}")
        if not 1 <= self.bins <= MAX_BINS:
            raise ValueError(f"{self.name}: bins must be 1..{MAX_BINS}, got {self.bins}")
        if self.name == "histogram":
            cutoff = DEFAULT_CUTOFF if self.cutoff is None else self.cutoff
            if not 1 <= cutoff <= DEFAULT_CUTOFF:
                raise ValueError(f"histogram: cutoff must be 1..255, got {cutoff}")
            object.__setattr__(self, "cutoff", cutoff)
        elif self.cutoff is not None:
            raise ValueError(f"{self.name}: takes no cutoff")
        if self.tau_us is not None and (self.name != "timesurface" or self.tau_us < 1):
            raise ValueError(f"{self.name}: tau must be a positive duration of a timesurface")
        if self.normalize and self.name != "voxel":
            raise ValueError(f"{self.name}: only voxel takes {NORM}")
        if self.normalize and self.bins > MAX_NORMALIZED_BINS:
            raise ValueError(
                f"voxel:{self.bins}:{NORM}: at most {MAX_NORMALIZED_BINS} bins (the clip's "
                "whole grid is held until its end)"
            )

    @property
    def count_cutoff(self) -> int:
        """The value counts saturate at (histogram: ``cutoff``; frames, countframes: 255)."""
        return self.cutoff if self.cutoff is not None else DEFAULT_CUTOFF

    @property
    def param(self) -> str | None:
        """The optional third field, canonical, or None when it is the default."""
        if self.name == "histogram" and self.cutoff != DEFAULT_CUTOFF:
            return str(self.cutoff)
        if self.tau_us is not None:
            return format_tau(self.tau_us)
        return NORM if self.normalize else None

    @property
    def text(self) -> str:
        """Canonical spec text; ``parse_tensor_specs(spec.text) == (spec,)``."""
        base = f"{self.name}:{self.bins}"
        return base if self.param is None else f"{base}:{self.param}"

    @property
    def label(self) -> str:
        """File-name part: ``voxel5``, ``histogram10``, ``histogram10_cutoff10``,
        ``timesurface4_tau50ms``, ``voxel5_norm``. Unique per canonical text."""
        base = f"{self.name}{self.bins}"
        if self.param is None:
            return base
        if self.normalize:
            return f"{base}_{NORM}"
        key = "cutoff" if self.name == "histogram" else "tau"
        return f"{base}_{key}{self.param}"

    @property
    def dtype(self) -> np.dtype:
        return _FLOAT16 if self.name in ("voxel", "timesurface") else _UINT8

    def bin_shape(self, height: int, width: int) -> tuple[int, ...]:
        """The shape of one bin: (H, W) for voxel and frames, else (2, H, W)."""
        if self.name in ("voxel", "frames"):
            return (height, width)
        return (2, height, width)

    def shape(self, height: int, width: int) -> tuple[int, ...]:
        return (self.bins, *self.bin_shape(height, width))

    def bin_nbytes(self, height: int, width: int) -> int:
        return int(np.prod(self.bin_shape(height, width))) * self.dtype.itemsize

    def sort_key(self) -> tuple[int, int, int, bool]:
        return (
            TENSOR_NAMES.index(self.name), self.bins, self.cutoff or self.tau_us or 0,
            self.normalize,
        )  # fmt: skip

    def __str__(self) -> str:
        return self.text


def _parse_item(item: str) -> TensorSpec:
    match = _ITEM.match(item.strip().lower())
    if not match:
        raise ValueError(f"bad tensor spec {item.strip()!r}: use {_FORMS}")
    name, bins_text, param = match.groups()
    try:
        if param is None:
            return TensorSpec(name, int(bins_text))
        if name == "histogram" and param.isdigit():
            return TensorSpec(name, int(bins_text), cutoff=int(param))
        if name == "voxel" and param == NORM:
            return TensorSpec(name, int(bins_text), normalize=True)
        tau = _TAU.match(param)
        if name == "timesurface" and tau:
            return TensorSpec(name, int(bins_text), tau_us=int(tau[1]) * _UNIT_US[tau[2]])
        raise ValueError(f"{name}: unexpected parameter {param!r}")
    except ValueError as exc:
        raise ValueError(f"bad tensor spec {item.strip()!r} ({exc}): use {_FORMS}") from None


def parse_tensor_specs(text: str) -> tuple[TensorSpec, ...]:
    """Parse a comma list into unique specs, sorted by kind (in ``TENSOR_NAMES`` order),
    then bins, then parameter. ValueError names the bad item and the accepted forms."""
    items = [part for part in text.split(",") if part.strip()]
    if not items:
        raise ValueError(f"no tensors given: use {_FORMS}")
    return tuple(sorted({_parse_item(part) for part in items}, key=TensorSpec.sort_key))
