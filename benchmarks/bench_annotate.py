"""How fast the annotate client asks, and how often a prefix cache serves its requests.

Synthesizes a 20 s DSEC sequence with real frames (640x480, or ``--frame-size``), builds
its frame folders and event images at 1s, 2s and 4s (67 clips), then runs ``annotate
--select best`` (10 requests per clip, 8 frames and 5 event images each, JPEG, the default
image size) against a server in another process: a raw asyncio HTTP/1.1 handler with
keep-alive that reads each body and returns one fixed completion with logprobs.

The server emulates prefix caching as vLLM's automatic prefix caching behaves: a
request's prefix is its body up to the question (the model, the images and their
labels), and a request is a *hit* when a request with the same prefix finished before it
arrived. With ``--engine`` it also emulates one GPU: every request holds the engine for
its prefill (``--miss-ms`` for a miss, ``--hit-ms`` for a hit; one at a time), then
decodes for ``--decode-ms`` beside the others. Each setting runs with the client's
prefix-first order and without it (all of a clip's questions at once, as before).

Everything goes through real HTTP on 127.0.0.1, so the figure is end to end: image
decode/encode, body building, sending, parsing, the fsynced answers log. Prints a
markdown table.

    python benchmarks/bench_annotate.py [--seconds 20] [--concurrency 16,64] [--engine]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from egpt_dsec.annotate.client import ClientOptions
from egpt_dsec.annotate.images import ImageOptions
from egpt_dsec.annotate.prompt import DEFAULT_TEMPLATE
from egpt_dsec.annotate.run import AnnotateConfig, annotate
from egpt_dsec.annotate.settings import AnswerSettings
from egpt_dsec.answers.questions import DEFAULT_QUESTIONS

MODEL = "bench/no-work"
TOKENS = [("A", -0.05), (" road", -0.2), (" with", -0.1), (" cars", -0.3), (".", -0.01)]
COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(t for t, _ in TOKENS)},
                "logprobs": {
                    "content": [
                        {"token": t, "logprob": v, "bytes": list(t.encode()), "top_logprobs": []}
                        for t, v in TOKENS
                    ]
                },
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 600, "completion_tokens": 5, "total_tokens": 605},
    }
).encode()
MODELS = json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model"}]}).encode()


# --- the server (a separate process) -----------------------------------------------------

QUESTION_MARKS = [json.dumps(q)[1:-1].encode() for q in DEFAULT_QUESTIONS]


class Engine:
    """Prefix caching and (optionally) one GPU's prefill, shared by all connections."""

    def __init__(self, miss_s: float, hit_s: float, decode_s: float) -> None:
        self.miss_s, self.hit_s, self.decode_s = miss_s, hit_s, decode_s
        self.finished: set[bytes] = set()
        self.hits = self.misses = 0
        self.gpu = asyncio.Lock()

    @staticmethod
    def prefix(body: bytes) -> bytes:
        """The body up to the question (the last one of the listed questions it holds)."""
        cut = max(body.rfind(q) for q in QUESTION_MARKS)
        return hashlib.sha256(body[: cut if cut >= 0 else len(body)]).digest()

    async def complete(self, body: bytes) -> None:
        prefix = self.prefix(body)
        hit = prefix in self.finished  # computed before this one arrived
        self.hits += hit
        self.misses += not hit
        if self.miss_s or self.hit_s:
            async with self.gpu:  # prefill: one request at a time
                await asyncio.sleep(self.hit_s if hit else self.miss_s)
        if self.decode_s:
            await asyncio.sleep(self.decode_s)  # decode: batched with the others
        self.finished.add(prefix)


async def _handle(
    engine: Engine, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            sizes = [v.split(b":", 1)[1] for v in lines if v.lower().startswith(b"content-length")]
            length = int(sizes[0]) if sizes else 0
            payload = await reader.readexactly(length) if length else b""
            models = lines[0].split(b" ")[1].endswith(b"/models")
            if not models:
                await engine.complete(payload)
            body = MODELS if models else COMPLETION
            header = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            writer.write(header + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve(miss_s: float, hit_s: float, decode_s: float) -> None:
    engine = Engine(miss_s, hit_s, decode_s)
    server = await asyncio.start_server(
        lambda r, w: _handle(engine, r, w), "127.0.0.1", 0, limit=2**20
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await stop.wait()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"HITS {engine.hits} MISSES {engine.misses}", flush=True)
    print(f"CPU {usage.ru_utime + usage.ru_stime:.3f}", flush=True)


class NoWorkServer:
    """The server process; ``cpu_seconds`` and the hits are known after ``stop``."""

    def __init__(self, engine: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> None:
        timing = [str(v) for v in engine]
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", *timing], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{self.process.stdout.readline().split()[1]}/v1"
        self.cpu_seconds = 0.0
        self.hits = self.misses = 0

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=30)
        words = out.split()
        self.cpu_seconds = float(words[-1])
        self.hits, self.misses = int(words[1]), int(words[3])


# --- the client runs ---------------------------------------------------------------------


def build_dataset(root: Path, seconds: float, frame_size: tuple[int, int]) -> Path:
    from egpt_dsec.config import BuildConfig
    from egpt_dsec.durations import parse_durations
    from egpt_dsec.pipeline import build
    from egpt_dsec.synth import SynthSpec, write_synthetic_dsec

    spec = SynthSpec(sequences=1, seconds=seconds, rate=1e4, seed=1, frame_size=frame_size)
    write_synthetic_dsec(root / "dsec", spec)
    config = BuildConfig(
        dsec_root=root / "dsec",
        out=root / "built",
        durations=parse_durations("1s,2s,4s"),
        components=("video", "event_image", "json"),
    )
    report = build(config)
    assert not report.failures, report.failures
    return root / "built"


class Timing:
    """A progress sink that only notes when asking starts and ends."""

    def __init__(self) -> None:
        self.started = self.ended = 0.0

    def start(self, requests: int) -> None:
        self.started = time.perf_counter()

    def advance(self, tokens: int, failed: bool) -> None:
        self.ended = time.perf_counter()

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Row:
    select: str
    concurrency: int
    order: str  # "prefix-first" or "all at once"
    server: str  # "no work" or the engine's timings
    clips: int
    requests: int
    hits: int
    asking_s: float
    total_s: float
    bytes_per_request: float
    encoded: int
    reused: int
    ms_per_image: float
    client_cpu_s: float
    server_cpu_s: float


@dataclass(frozen=True)
class Run:
    select: str
    concurrency: int
    prefix_first: bool
    engine: tuple[float, float, float]  # miss, hit (prefill, one at a time), decode seconds


def run_once(built: Path, work: Path, run: Run) -> Row:
    out = work / f"out-{len(list(work.iterdir()))}"
    shutil.copytree(built, out, copy_function=os.link)  # frames stay the same inodes
    server = NoWorkServer(run.engine)
    settings = AnswerSettings(
        MODEL, DEFAULT_TEMPLATE, frames=8, event_images=True, image=ImageOptions("jpeg")
    )
    client = ClientOptions(server.url, concurrency=run.concurrency, prefix_first=run.prefix_first)
    config = AnnotateConfig(out=out, settings=settings, select=run.select, client=client)
    timing, cpu = Timing(), resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    try:
        report = annotate(config, timing)
    finally:
        server.stop()
    total = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    online, cache = report.online, report.cache
    assert online is not None and online.failed == 0, online
    miss, hit, decode = (1000 * v for v in run.engine)
    return Row(
        select=run.select,
        concurrency=run.concurrency,
        order="prefix-first" if run.prefix_first else "all at once",
        server=f"GPU {miss:g}/{hit:g}/{decode:g} ms" if any(run.engine) else "no work",
        clips=report.clips_asked,
        requests=online.requests,
        hits=server.hits,
        asking_s=timing.ended - timing.started,
        total_s=total,
        bytes_per_request=online.body_bytes / online.requests,
        encoded=cache.misses,
        reused=cache.hits,
        ms_per_image=1000 * cache.encode_cpu_seconds / max(cache.misses, 1),
        client_cpu_s=(after.ru_utime + after.ru_stime) - (cpu.ru_utime + cpu.ru_stime),
        server_cpu_s=server.cpu_seconds,
    )


def table(rows: list[Row]) -> str:
    lines = [
        "| server | select | concurrency | order | requests | prefix hits | asking req/s "
        "| end-to-end req/s | kB/request | images encoded / reused | image CPU ms per image "
        "| client CPU ms/request |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.server} | {r.select} | {r.concurrency} | {r.order} | {r.requests} "
            f"| **{100 * r.hits / r.requests:.0f}%** | **{r.requests / r.asking_s:.0f}** "
            f"| {r.requests / r.total_s:.0f} | {r.bytes_per_request / 1000:.0f} "
            f"| {r.encoded} / {r.reused} | {r.ms_per_image:.1f} "
            f"| {1000 * r.client_cpu_s / r.requests:.2f} |"
        )
    return "\n".join(lines)


def runs(args: argparse.Namespace) -> list[Run]:
    engines = [(0.0, 0.0, 0.0)]
    if args.engine:
        engines.append((args.miss_ms / 1000, args.hit_ms / 1000, args.decode_ms / 1000))
    found = []
    for engine in engines:
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            found += [Run("best", concurrency, first, engine) for first in (True, False)]
    if args.one:
        found.append(Run("one", int(args.concurrency.split(",")[0]), True, engines[0]))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", nargs=3, type=float, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=20.0, help="sequence length (20)")
    parser.add_argument("--frame-size", default="640x480", help="synthetic frames (640x480)")
    parser.add_argument("--concurrency", default="16,64", help="comma list (16,64)")
    parser.add_argument("--one", action="store_true", help="also run --select one")
    parser.add_argument("--engine", action="store_true", help="also emulate one GPU's prefill")
    parser.add_argument("--miss-ms", type=float, default=20.0, help="prefill of a miss (20)")
    parser.add_argument("--hit-ms", type=float, default=2.0, help="prefill of a hit (2)")
    parser.add_argument("--decode-ms", type=float, default=100.0, help="decode, batched (100)")
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(_serve(*args.serve))
        return 0
    width, height = (int(v) for v in args.frame_size.split("x"))
    with tempfile.TemporaryDirectory(prefix="bench-annotate-") as tmp:
        built = build_dataset(Path(tmp), args.seconds, (width, height))
        work = Path(tmp) / "runs"
        work.mkdir()
        rows = [run_once(built, work, run) for run in runs(args)]
    print(
        f"annotate client, {width}x{height} frames, 8 + 5 event images per request at the "
        f"default size, JPEG, {os.cpu_count()} cores\n"
    )
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
