"""Running the build: one streaming job per sequence, on a swappable executor."""
