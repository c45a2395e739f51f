"""What to generate: one frozen, validated value passed from the CLI to the generator."""

from __future__ import annotations

from dataclasses import dataclass

LAYOUTS: tuple[str, ...] = ("split", "sequence")
FRAME_HZ = 20
MAX_SECONDS = 4000.0  # relative event time is uint32 microseconds: keep well below 2**32 us


@dataclass(frozen=True)
class SynthSpec:
    """A synthetic DSEC root: how many sequences, how long, how busy, and how laid out.

    ``layout`` picks where events go: ``"split"`` = ``<seq>/events/left/`` (official
    split archives), ``"sequence"`` = ``<seq>/events_left/`` (per-sequence downloads).
    """

    sequences: int = 2
    test_sequences: int = 0
    seconds: float = 20.0
    rate: float = 2e6
    seed: int = 0
    frame_size: tuple[int, int] = (640, 480)
    layout: str = "split"

    def __post_init__(self) -> None:
        if self.sequences < 0 or self.test_sequences < 0:
            raise ValueError(
                f"sequence counts must be >= 0, got sequences={self.sequences}, "
                f"test_sequences={self.test_sequences}"
            )
        if self.sequences + self.test_sequences < 1:
            raise ValueError("nothing to generate: sequences + test_sequences must be >= 1")
        if not 1.0 / FRAME_HZ <= self.seconds <= MAX_SECONDS:
            raise ValueError(
                f"seconds must be in [{1.0 / FRAME_HZ}, {MAX_SECONDS}] "
                f"(at least two {FRAME_HZ} Hz frames), got {self.seconds}"
            )
        if not 0 <= self.rate <= 1e9:
            raise ValueError(f"rate must be in [0, 1e9] events per second, got {self.rate}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if len(self.frame_size) != 2 or min(self.frame_size) < 8 or max(self.frame_size) > 8192:
            raise ValueError(
                f"frame_size must be (width, height), each 8..8192, got {self.frame_size}"
            )
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")

    @property
    def frame_count(self) -> int:
        """Frames per sequence: the image timestamps span ``seconds`` exactly (both ends)."""
        return round(self.seconds * FRAME_HZ) + 1
