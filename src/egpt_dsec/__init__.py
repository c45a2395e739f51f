"""egpt-dsec: build EventGPT / Video-LLaVA clip datasets from the DSEC event-camera dataset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from egpt_dsec.load import load_clip_events

__version__ = "0.3.0"
__all__ = ["load_clip_events"]


def __getattr__(name: str) -> Any:
    """``load_clip_events`` is imported on first use: the CLI starts without h5py."""
    if name == "load_clip_events":
        from egpt_dsec.load import load_clip_events

        return load_clip_events
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
