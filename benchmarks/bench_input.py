"""The bench's input: synthetic or replayed-real DSEC sequences, written in parallel."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SeqPlan:
    """One sequence to write: synthetic (``rate``) or replayed real events."""

    name: str
    index: int
    seconds: float
    rate: float
    frame_size: tuple[int, int]
    seed: int
    real_sample: Path | None = None  # set = replay the real sample
    stretch: bool = False  # replay the real sample slowed down to ``rate`` (else its own)


def _write_seq(root: Path, plan: SeqPlan) -> int:
    """Write one sequence under ``root/train``; returns its event count."""
    from egpt_dsec.synth.dataset import SequenceSlot, write_sequence
    from egpt_dsec.synth.real import write_replayed_sequence
    from egpt_dsec.synth.spec import SynthSpec

    folder = root / "train" / plan.name
    if plan.real_sample is not None:
        rate = plan.rate if plan.stretch else None
        return write_replayed_sequence(
            folder, plan.seconds, plan.frame_size, plan.real_sample, plan.seed, rate=rate
        )
    spec = SynthSpec(
        sequences=plan.index + 1,
        seconds=plan.seconds,
        rate=plan.rate,
        seed=plan.seed,
        frame_size=plan.frame_size,
    )
    write_sequence(folder, spec, SequenceSlot("train", plan.name, plan.index))
    return round(plan.rate * plan.seconds)


def synthesize(root: Path, plans: Sequence[SeqPlan]) -> float:
    """Write every planned sequence, in parallel processes; returns the seconds taken."""
    started = time.perf_counter()
    workers = max(1, min(len(plans), os.cpu_count() or 1))
    if workers == 1:
        for plan in plans:
            _write_seq(root, plan)
    else:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            for future in [pool.submit(_write_seq, root, plan) for plan in plans]:
                future.result()
    return time.perf_counter() - started


def seq_plans(args: argparse.Namespace, count: int, seconds: float, rate: float) -> list[SeqPlan]:
    sample = sample_dir(args) if args.replay_real else None
    return [
        SeqPlan(f"bench_{i:02d}", i, seconds, rate, args.frame_size, args.seed + i, sample)
        for i in range(count)
    ]


def sample_dir(args: argparse.Namespace) -> Path:
    from egpt_dsec.synth.real import REAL_SAMPLE_DIR

    return Path(args.real_sample) if args.real_sample else REAL_SAMPLE_DIR


def data_line(args: argparse.Namespace, plans: Sequence[SeqPlan], synth_s: float) -> str:
    cache = (
        "left in the page cache (--warm-input)"
        if args.warm_input
        else "evicted from the page cache before each build"
    )
    if args.replay_real:
        from egpt_dsec.synth.real import load_windows, replay_rate

        rate = replay_rate(load_windows(sample_dir(args)))
        kind = f"real DSEC sample replayed at its own rate ({rate / 1e6:.2f} M ev/s)"
    else:
        kind = f"synthetic events at {plans[0].rate / 1e6:g} M ev/s"
    seconds = " + ".join(f"{p.seconds:g}" for p in plans)
    w, h = plans[0].frame_size
    return (
        f"- input: {len(plans)} sequence(s) of {seconds} s, {kind}, {w}x{h} frames at 20 Hz "
        f"(written in {synth_s:.1f} s, {cache})"
    )
