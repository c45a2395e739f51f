"""Reading DSEC: finding sequences, their image timestamps, frames and events."""
