"""egpt-dsec: build EventGPT / Video-LLaVA clip datasets from the DSEC event-camera dataset."""

from egpt_dsec.load import load_clip_events

__version__ = "0.1.0"
__all__ = ["load_clip_events"]
