"""Progress for people: bars on a terminal, periodic log lines otherwise."""

from __future__ import annotations

import logging
import time

from tqdm import tqdm

from egpt_dsec.execute.report import JobResult

log = logging.getLogger("egpt_dsec.progress")


class TerminalProgress:
    """Three bars: work units, clips and events (its rate is events/s)."""

    def __init__(self) -> None:
        self.sequences = tqdm(total=0, desc="units", unit="unit", position=0)
        self.clips = tqdm(total=0, desc="clips", unit="clip", position=1)
        self.events = tqdm(
            total=0, desc="events", unit="ev", unit_scale=True, position=2, smoothing=0.1
        )

    def build_started(self, units: int) -> None:
        self.sequences.total = units
        self.sequences.refresh()

    def job_started(self, key: str, clips_todo: int, events_todo: int) -> None:
        self.clips.total = (self.clips.total or 0) + clips_todo
        self.events.total = (self.events.total or 0) + events_todo
        self.sequences.set_postfix_str(key, refresh=False)
        self.clips.refresh()
        self.events.refresh()

    def clip_done(self, key: str, events: int) -> None:
        self.clips.update(1)
        self.events.update(events)

    def job_finished(self, result: JobResult) -> None:
        self.sequences.update(1)
        if not result.ok:
            tqdm.write(f"FAILED {result.key}: {result.error}")

    def close(self) -> None:
        for bar in (self.events, self.clips, self.sequences):
            bar.close()


class LogProgress:
    """One line per job start and end, and a summary line at most every ``every`` seconds."""

    def __init__(self, every: float = 10.0) -> None:
        self.total_sequences, self.every = 0, every
        self.finished = self.clips_done = self.clips_total = self.events = 0
        self.started = self.last = time.monotonic()

    def build_started(self, units: int) -> None:
        self.total_sequences = units

    def job_started(self, key: str, clips_todo: int, events_todo: int) -> None:
        self.clips_total += clips_todo
        log.info("start %s: %d clips to build, %d events", key, clips_todo, events_todo)

    def clip_done(self, key: str, events: int) -> None:
        self.clips_done += 1
        self.events += events
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            rate = self.events / max(now - self.started, 1e-9)
            log.info(
                "progress: %d/%d sequences, %d/%d clips, %.3g events/s",
                self.finished,
                self.total_sequences,
                self.clips_done,
                self.clips_total,
                rate,
            )

    def job_finished(self, result: JobResult) -> None:
        self.finished += 1
        if result.ok:
            s = result.stats
            log.info(
                "done %s in %.1fs: %d clips built, %d skipped (%d/%d sequences)",
                result.key,
                result.seconds,
                s.clips_built,
                s.clips_skipped,
                self.finished,
                self.total_sequences,
            )
        else:
            log.error("FAILED %s: %s", result.key, result.error)

    def close(self) -> None:
        pass
