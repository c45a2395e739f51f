"""Progress for people: bars on a terminal, periodic log lines otherwise.

Totals come from the plan before the first clip, so the rates and ETAs are honest from
the start; "events" are source events read (each once), not their copies into clips.
Counts are whole numbers with thousands separators, as ``plan`` and ``build`` print them.
"""

from __future__ import annotations

import logging
import time

from tqdm import tqdm

from egpt_dsec.execute.report import JobResult
from egpt_dsec.humanize import format_duration

log = logging.getLogger("egpt_dsec.progress")


class TerminalProgress:
    """Three bars with rate and ETA: work units, clips, source events read."""

    def __init__(self) -> None:
        self.units = tqdm(total=0, desc="units", unit="unit", position=0)
        self.clips = tqdm(total=0, desc="clips", unit="clip", position=1)
        self.events = tqdm(
            total=0, desc="events", unit="ev", unit_scale=True, position=2, smoothing=0.1
        )

    def build_started(self, units: int, clips: int, events: int) -> None:
        for bar, total in ((self.units, units), (self.clips, clips), (self.events, events)):
            bar.total = total
            bar.refresh()

    def job_started(self, key: str) -> None:
        self.units.set_postfix_str(key, refresh=True)

    def events_read(self, key: str, events: int) -> None:
        self.events.update(events)

    def clip_done(self, key: str) -> None:
        self.clips.update(1)

    def job_finished(self, result: JobResult) -> None:
        self.units.update(1)
        if not result.ok:
            tqdm.write(f"FAILED {result.key}: {result.error}")

    def close(self) -> None:
        for bar in (self.events, self.clips, self.units):
            bar.close()


class LogProgress:
    """One line per job end, and a summary line with rate and ETA at most every ``every``
    seconds (logs of a batch job, a CI run, ``nohup``)."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self.units = self.units_done = self.clips = self.clips_done = 0
        self.events = self.events_read_total = 0
        self.started = self.last = time.monotonic()

    def build_started(self, units: int, clips: int, events: int) -> None:
        self.units, self.clips, self.events = units, clips, events
        self.started = self.last = time.monotonic()
        log.info(
            "building %s work units: %s clips, %s source events",
            *(f"{n:,}" for n in (units, clips, events)),
        )

    def job_started(self, key: str) -> None:
        log.debug("start %s", key)

    def events_read(self, key: str, events: int) -> None:
        self.events_read_total += events
        self._maybe_report()

    def clip_done(self, key: str) -> None:
        self.clips_done += 1
        self._maybe_report()

    def _maybe_report(self) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-9)
        rate = self.events_read_total / elapsed
        done = self.events_read_total / self.events if self.events else None
        eta = elapsed * (1 - done) / done if done else None
        log.info(
            "progress: %s/%s units, %s/%s clips, %s/%s events (%s ev/s), ETA %s",
            *(f"{n:,.0f}" for n in (self.units_done, self.units, self.clips_done, self.clips)),
            *(f"{n:,.0f}" for n in (self.events_read_total, self.events, rate)),
            format_duration(eta),
        )

    def job_finished(self, result: JobResult) -> None:
        self.units_done += 1
        if result.ok:
            s = result.stats
            log.info(
                "done %s in %.1fs: %s clips built, %s skipped (%s/%s units)",
                result.key,
                result.seconds,
                *(f"{n:,}" for n in (s.clips_built, s.clips_skipped, self.units_done, self.units)),
            )
        else:
            log.error("FAILED %s: %s", result.key, result.error)

    def close(self) -> None:
        pass
