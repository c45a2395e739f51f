"""The benchmark's toolkit: machine facts, disk and CPU speed, formatting and the
markdown table. ``bench_input`` writes the input, ``bench_runs`` runs the builds,
``cpu_floor`` measures what the CPU allows; ``bench_build.py`` runs the modes.

Units are decimal: MB = 1e6 bytes, GB = 1e9 bytes, M = 1e6.
"""

from __future__ import annotations

import contextlib
import datetime
import multiprocessing as mp
import os
import platform
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from egpt_dsec.humanize import format_bytes
from egpt_dsec.reports.plan.probe import disk_write_speed as probe_disk_speed

STAGES = (
    "read_events",
    "write_npy",
    "render",
    "write_png",
    "decode_frames",
    "encode_mp4",
    "remux_mp4",
    "link_frames",
    "tensors",
    "write_npz",
)
RENDER_TARGET = 200e6  # events/s on one core
RSS_TARGET = 2e9  # bytes, for a 400M-event 16 s clip
FLOOR_TARGET = 1.5  # wall / disk floor
SCALING_TARGET = 1.7  # 2 workers vs 1
ONCE_TOLERANCE = 0.05  # decodes per source item within 5% of 1
BIG_CLIP_FREE = 12e9  # bytes free needed for --big-clip
DISK_STREAMS = 4  # files written at once by the disk test


# ---------------------------------------------------------------------------
# Machine, disk and formatting helpers


def fmt_rate(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    sep = "" if unit == "B" else " "
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:,.1f} {prefix}{sep}{unit}/s"
    return f"{value:,.1f} {unit}/s"


def fmt_bytes(value: float) -> str:
    return format_bytes(value)  # the unit everything egpt-dsec prints uses


def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f} s"


def div(a: float, b: float) -> float | None:
    return a / b if b else None


def verdict(met: bool) -> str:
    return "**met**" if met else "**MISSED**"


def once(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio:.4f} (target 1 ±5%: {verdict(abs(ratio - 1) <= ONCE_TOLERANCE)})"


def _ram_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def machine_facts(folder: Path) -> list[str]:
    """CPU, RAM, disk and library versions, as markdown list lines."""
    import av
    import h5py
    import numba
    import numpy as np

    usage = shutil.disk_usage(folder)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return [
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- CPU: {os.cpu_count()} x {_cpu_model()}",
        f"- RAM: {_ram_bytes() / 1e9:.1f} GB",
        f"- OS: {platform.platform()}",
        f"- python {platform.python_version()}, numpy {np.__version__}, av {av.__version__}, "
        f"h5py {h5py.__version__}, numba {numba.__version__}",
        f"- output disk: {folder.resolve()} ({fmt_bytes(usage.free)} free of "
        f"{fmt_bytes(usage.total)})",
        f"- load average at start: {load} (other processes on the machine lower the numbers)",
    ]


def disk_write_speed(folder: Path, gib: float, streams: int = DISK_STREAMS) -> float:
    """Sequential write speed of ``folder``'s disk in bytes/s: the plan's own probe
    (``egpt_dsec.reports.plan.probe``: written behind, as the build writes its npy files,
    then fsync'ed), larger and with ``streams`` files at once as a build writes."""
    os.sync()
    return probe_disk_speed(folder, round(gib * 2**30), streams)


def _spin(n: int) -> float:
    """A fixed amount of pure CPU work; returns its own wall time."""
    started = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i % 7
    return time.perf_counter() - started


def cpu_capacity(workers: int = 2, n: int = 15_000_000) -> float:
    """How many cores this many busy processes really get now: ``workers`` x t(1) / t(n).

    The same work alone, then in ``workers`` processes at once; 2.0 = two idle cores,
    about 1.0 = the rest of the machine already uses the other core.
    """
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        list(pool.map(_spin, [n // 10] * workers))  # start the processes
        alone = pool.submit(_spin, n).result()
        started = time.perf_counter()
        list(pool.map(_spin, [n] * workers))
        together = time.perf_counter() - started
    return workers * alone / together


@dataclass(frozen=True)
class DiskSpeed:
    """The sequential write speed measured before and after a build (shared disks vary)."""

    before: float
    after: float

    @property
    def best(self) -> float:
        """The faster one: it gives the lower, stricter floor."""
        return max(self.before, self.after)


def evict_inputs(root: Path) -> None:
    """Flush, then drop ``root``'s files from the page cache, so the build reads from disk."""
    os.sync()
    for dirpath, _, names in os.walk(root):
        for name in names:
            with contextlib.suppress(OSError):
                fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)


def tree_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder`` that have one link (hard-linked frames cost none)."""
    total = 0
    for dirpath, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(dirpath, name))
                if st.st_nlink == 1 and not os.path.islink(os.path.join(dirpath, name)):
                    total += st.st_size
    return total


class Table:
    """A markdown table built row by row."""

    def __init__(self, *header: str) -> None:
        self.header = header
        self.rows: list[tuple[str, ...]] = []

    def add(self, *cells: str) -> None:
        self.rows.append(tuple(cells) + ("",) * (len(self.header) - len(cells)))

    def section(self, title: str) -> None:
        self.add(f"**{title}**")

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.header) + " |"]
        lines.append("|" + "|".join("---" for _ in self.header) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
