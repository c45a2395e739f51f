"""Progress for people: requests/s, tokens/s and ETA, as a bar on a terminal or a log
line at most every 10 s otherwise. The library reports to a ``Progress``; it never prints."""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

log = logging.getLogger("egpt_dsec.annotate")


class Progress(Protocol):
    def start(self, requests: int) -> None: ...
    def advance(self, tokens: int, failed: bool) -> None: ...
    def close(self) -> None: ...


class NullProgress:
    def start(self, requests: int) -> None:
        pass

    def advance(self, tokens: int, failed: bool) -> None:
        pass

    def close(self) -> None:
        pass


class Rates:
    """Counts since start and the rates and ETA they give."""

    def __init__(self) -> None:
        self.total = self.done = self.failed = self.tokens = 0
        self.started = time.monotonic()

    def add(self, tokens: int, failed: bool) -> None:
        self.done += 1
        self.tokens += tokens
        self.failed += failed

    def summary(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate else float("inf")
        eta_text = f"{eta:.0f} s" if eta != float("inf") else "?"
        return (
            f"{self.done}/{self.total} requests ({self.failed} failed), {rate:.1f} req/s, "
            f"{self.tokens / elapsed:.0f} tokens/s, ETA {eta_text}"
        )


class LogProgress:
    """A log line at most every ``every`` seconds, and one at the end."""

    def __init__(self, every: float = 10.0) -> None:
        self.rates = Rates()
        self.every = every
        self.last = time.monotonic()

    def start(self, requests: int) -> None:
        self.rates = Rates()
        self.rates.total = requests
        log.info("asking %d requests", requests)

    def advance(self, tokens: int, failed: bool) -> None:
        self.rates.add(tokens, failed)
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            log.info("progress: %s", self.rates.summary())

    def close(self) -> None:
        if self.rates.total:
            log.info("done: %s", self.rates.summary())


class BarProgress:
    """A tqdm bar (on stderr) whose postfix shows tokens/s and failures."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.rates = Rates()

    def start(self, requests: int) -> None:
        from tqdm import tqdm

        self.rates = Rates()
        self.rates.total = requests
        self.bar = tqdm(total=requests, desc="answers", unit="req", smoothing=0.1)

    def advance(self, tokens: int, failed: bool) -> None:
        self.rates.add(tokens, failed)
        elapsed = max(time.monotonic() - self.rates.started, 1e-9)
        postfix = f"{self.rates.tokens / elapsed:.0f} tok/s, {self.rates.failed} failed"
        self.bar.set_postfix_str(postfix, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
