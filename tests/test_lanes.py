"""The lanes a job's stages run on, and the schedule that lets them run ahead."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from egpt_dsec.durations import Duration
from egpt_dsec.execute.lanes import Lane, Lanes, ahead
from egpt_dsec.execute.schedule import Wants, plan_blocks
from egpt_dsec.plan.clips import plan_clips


def test_ahead_keeps_order_and_inline_computes_on_demand() -> None:
    with ThreadPoolExecutor(3) as pool:
        lane = Lane(pool, 4)
        slow_first = [lambda i=i: time.sleep(0.02 * (5 - i)) or i for i in range(5)]
        assert list(ahead(lane, lambda f: f(), slow_first)) == [0, 1, 2, 3, 4]
    called: list[int] = []
    lazy = ahead(Lane(None, 1), lambda i: called.append(i) or i, range(3))
    assert called == [] and next(lazy) == 0 and called == [0]


def test_a_lane_holds_at_most_its_limit() -> None:
    held, peak, lock = [0], [0], threading.Lock()

    def task() -> None:
        with lock:
            held[0] += 1
            peak[0] = max(peak[0], held[0])
        time.sleep(0.01)
        with lock:
            held[0] -= 1

    with ThreadPoolExecutor(4) as pool:
        lane = Lane(pool, 6)
        futures = [lane.submit(task, weight=3) for _ in range(8)]
        for future in futures:
            future.result()
    assert peak[0] == 2  # two tasks of weight 3 fill a lane of 6


def test_errors_raise_at_the_call_inline_and_at_the_result_on_threads() -> None:
    def boom() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        Lane(None, 1).submit(boom)
    lanes = Lanes.for_cores(2)
    try:
        future = lanes.images.submit(boom)
        with pytest.raises(OSError):
            future.result()
    finally:
        lanes.close(cancel=True)
    assert lanes.stopped.is_set() and not lanes.inline and Lanes.for_cores(1).inline


def test_schedule_reads_only_while_a_clip_wants_events() -> None:
    timestamps = 1_000_000 + 50_000 * np.arange(41, dtype=np.int64)  # 2 s at 20 Hz
    clips = plan_clips(timestamps, (Duration.parse("500ms"), Duration.parse("1s")), 0.5)
    bounds = sorted({t for c in clips for t in (c.t0, c.t1)})
    index = {t: 1000 * i for i, t in enumerate(bounds)}  # 1000 events per block
    wanted = {c.key for c in clips if c.duration.label == "1s" and c.index == 0}
    wants = Wants(events=lambda c: c.key in wanted, frames=lambda c: False)
    blocks = plan_blocks(index, clips, timestamps, wants, chunk=400)
    reading = [b for b in blocks if b.reads]
    assert [b.t0 for b in reading] == bounds[:4]  # the 1 s clip spans four 250 ms blocks
    assert reading[0].reads == ((0, 400), (400, 800), (800, 1000))
    assert all(not b.frames for b in blocks)
    every = plan_blocks(index, clips, timestamps, Wants(wants.events, wants.frames, True), 400)
    assert [i for b in every for i in b.frames] == list(range(40))  # the last frame ends
    assert sum(len(b.opening) for b in blocks) == sum(len(b.closing) for b in blocks) == len(clips)
