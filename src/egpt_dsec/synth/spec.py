"""What to generate: one frozen, validated value passed from the CLI to the generator."""

from __future__ import annotations

from dataclasses import dataclass

from egpt_dsec import argtypes
from egpt_dsec.layout.dsec import LAYOUT_HELP, LAYOUTS, SPLIT_ARCHIVES, SYNTH_COMMAND
from egpt_dsec.options import declared, option, value_of

FRAME_HZ = 20
MAX_SECONDS = 4000.0  # relative event time is uint32 microseconds: keep well below 2**32 us


@dataclass(frozen=True)
class SynthSpec:
    """A synthetic DSEC root: how many sequences, how long, how busy, and how laid out.

    ``layout`` picks where events go, one of ``layout.dsec.LAYOUTS``.
    """

    sequences: int = option(2, flag="--sequences", help="train sequences", example="1", parse=int)
    test_sequences: int = option(
        0, flag="--test-sequences", help="test sequences", example="1", parse=int
    )
    seconds: float = option(
        20.0, flag="--seconds", help="length of each sequence", example="60", parse=float
    )
    rate: float = option(2e6, flag="--rate", help="events per second", example="1e5", parse=float)
    seed: int = option(0, flag="--seed", help="random seed", example="7", parse=int)
    frame_size: tuple[int, int] = option(
        (640, 480),
        flag="--frame-size",
        help="frame size WxH (DSEC: 1440x1080)",
        example="1440x1080",
        parse=argtypes.size,
        show=lambda s: f"{s[0]}x{s[1]}",
    )
    layout: str = option(
        SPLIT_ARCHIVES, flag="--layout", help=f"where events go: {LAYOUT_HELP}", choices=LAYOUTS
    )

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

    def command(self) -> str:
        """The ``synth`` command that writes this root (every option spelled out, floats
        exact), with ``DSEC`` for the folder: what the root's marker records."""
        words = [SYNTH_COMMAND, "DSEC"]
        for d in declared(SynthSpec):
            if d.flag is None:
                continue
            value = value_of(self, d.name)
            words += [d.flag.flag, d.flag.show(value) if d.flag.show else str(value)]
        return " ".join(words)
