"""egpt-dsec: build EventGPT / Video-LLaVA clip datasets from the DSEC event-camera dataset."""

__version__ = "0.1.0"
