"""The threads of one job: bounded lanes that run its stages beside the streaming pass.

A job given one core runs every task at once in the caller, so the pass is the plain
serial loop. Given more, the HDF5 reads, the frame decodes, the PNG compressions, the
npy writes and the x264 encode each run on their own threads while the pass renders,
and every lane holds a bounded amount of pending work, so memory stays bounded
whatever the input. Lane tasks never wait for each other or for the pass, so a full
lane always drains.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# How much work each lane may hold: enough that a slow stage does not stall the others
# at once, little next to the 2 GB a worker may use.
READ_AHEAD = 3  # event chunks read ahead of the pass (one chunk is up to ~52 MB)
FRAMES_AHEAD = 8  # frames decoded ahead (~7 MB each at 1440x1080: RGB and yuv420p)
IMAGES_QUEUED = 16  # event images waiting for PNG compression (~1 MB each)
WRITE_BYTES = 192 * 2**20  # npy bytes queued for the writer thread
VIDEO_FRAMES = 24  # frames queued for the x264 thread (2.3 MB each at 1440x1080)
TENSOR_CHUNKS = 3  # event chunks queued for the tensor thread (shared with the pass)


class Lane:
    """Runs tasks on ``pool`` (None: at once, in the caller), at most ``limit`` units pending.

    ``submit`` blocks while the lane holds ``limit`` units (a task weighs ``weight``
    units, e.g. its bytes); a task heavier than the limit runs alone.
    """

    def __init__(self, pool: ThreadPoolExecutor | None, limit: int) -> None:
        self.pool, self.limit = pool, limit
        self._held = 0
        self._room = threading.Condition()

    @property
    def inline(self) -> bool:
        return self.pool is None

    def submit(self, fn: Callable[..., R], *args: Any, weight: int = 1) -> Future[R]:
        if self.pool is None:
            done: Future[R] = Future()
            done.set_result(fn(*args))  # errors raise here, at the call, as in a plain loop
            return done
        with self._room:
            while self._held and self._held + weight > self.limit:
                self._room.wait()
            self._held += weight
        try:
            future = self.pool.submit(fn, *args)
        except BaseException:
            self._release(weight)
            raise
        future.add_done_callback(lambda _: self._release(weight))
        return future

    def _release(self, weight: int) -> None:
        with self._room:
            self._held -= weight
            self._room.notify_all()


def ahead(lane: Lane, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
    """``fn(item)`` for every item, in order, up to the lane's limit computed ahead on it.

    Inline lanes compute each result only when it is asked for.
    """
    if lane.inline:
        yield from (fn(item) for item in items)
        return
    pending: deque[Future[R]] = deque()
    for item in items:
        pending.append(lane.submit(fn, item))
        if len(pending) >= lane.limit:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def wait_all(futures: Iterable[Future[Any]]) -> None:
    """Wait for every future; the first error is raised."""
    for future in futures:
        future.result()


@dataclass
class Lanes:
    """One job's lanes: frame decodes and PNG compression on ``cores`` threads each (the
    kernel shares the cores between them); reads, event tensors, npy writes and x264 on one
    thread each, in submission order. ``stopped`` tells long tasks (a sequence encode) to
    give up."""

    cores: int
    reads: Lane
    frames: Lane
    images: Lane
    writes: Lane
    video: Lane
    tensors: Lane
    stopped: threading.Event = field(default_factory=threading.Event)
    _pools: tuple[ThreadPoolExecutor, ...] = ()

    @property
    def inline(self) -> bool:
        """One core: every task runs at once in the caller."""
        return not self._pools

    @staticmethod
    def for_cores(cores: int) -> Lanes:
        if cores <= 1:
            now = Lane(None, 1)
            return Lanes(1, now, now, now, now, now, now)
        frames, images = (ThreadPoolExecutor(cores, f"egpt-{n}") for n in ("frames", "png"))
        reads, tensors, writes, video = (
            ThreadPoolExecutor(1, f"egpt-{name}") for name in ("read", "tensor", "write", "x264")
        )
        return Lanes(
            cores,
            reads=Lane(reads, READ_AHEAD),
            frames=Lane(frames, FRAMES_AHEAD),
            images=Lane(images, IMAGES_QUEUED),
            writes=Lane(writes, WRITE_BYTES),
            video=Lane(video, VIDEO_FRAMES),
            tensors=Lane(tensors, TENSOR_CHUNKS),
            _pools=(frames, images, reads, tensors, writes, video),  # tensors write: first
        )

    def close(self, cancel: bool = False) -> None:
        """Wait for the running tasks to end (``cancel``: drop queued ones, stop long ones)."""
        if cancel:
            self.stopped.set()
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=cancel)
