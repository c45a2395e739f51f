"""How fast the annotate client asks (target: >= 100 requests/s on 2 cores).

Synthesizes a 20 s DSEC sequence with real 640x480 frames, builds its frame folders
at 1s, 2s and 4s (67 clips), then runs ``annotate --select best`` (10 requests per
clip, 8 frames each, JPEG) against a server in another process that does no work: a
raw asyncio HTTP/1.1 handler with keep-alive that reads each body and returns one
fixed completion with logprobs. Everything goes through real HTTP on 127.0.0.1, so
the figure is end to end: image decode/encode, body building, sending, parsing, the
fsynced answers log. Prints a markdown table.

    python benchmarks/bench_annotate.py [--seconds 20] [--concurrency 16,64]
"""

from __future__ import annotations

import argparse
import asyncio
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


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            sizes = [v.split(b":", 1)[1] for v in lines if v.lower().startswith(b"content-length")]
            length = int(sizes[0]) if sizes else 0
            if length:
                await reader.readexactly(length)
            body = MODELS if lines[0].split(b" ")[1].endswith(b"/models") else COMPLETION
            header = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            writer.write(header + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve() -> None:
    server = await asyncio.start_server(_handle, "127.0.0.1", 0, limit=2**20)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await stop.wait()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"CPU {usage.ru_utime + usage.ru_stime:.3f}", flush=True)


class NoWorkServer:
    """The server process; ``cpu_seconds`` is known after ``stop``."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{self.process.stdout.readline().split()[1]}/v1"
        self.cpu_seconds = 0.0

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=30)
        self.cpu_seconds = float(out.split()[-1])


# --- the client runs ---------------------------------------------------------------------


def build_dataset(root: Path, seconds: float) -> Path:
    from egpt_dsec.config import BuildConfig
    from egpt_dsec.durations import parse_durations
    from egpt_dsec.pipeline import build
    from egpt_dsec.synth import SynthSpec, write_synthetic_dsec

    spec = SynthSpec(sequences=1, seconds=seconds, rate=1e4, seed=1, frame_size=(640, 480))
    write_synthetic_dsec(root / "dsec", spec)
    config = BuildConfig(
        dsec_root=root / "dsec",
        out=root / "built",
        durations=parse_durations("1s,2s,4s"),
        components=("video", "json"),
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
    clips: int
    requests: int
    asking_s: float
    total_s: float
    bytes_per_request: float
    encoded: int
    hits: int
    ms_per_image: float
    ms_per_clip: float
    client_cpu_s: float
    server_cpu_s: float


def run_once(built: Path, work: Path, select: str, concurrency: int) -> Row:
    out = work / f"out-{select}-{concurrency}"
    shutil.copytree(built, out, copy_function=os.link)  # frames stay the same inodes
    server = NoWorkServer()
    settings = AnswerSettings(MODEL, DEFAULT_TEMPLATE, frames=8, image=ImageOptions("jpeg"))
    config = AnnotateConfig(
        out=out,
        settings=settings,
        select=select,
        client=ClientOptions(server.url, concurrency=concurrency),
    )
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
    return Row(
        select=select,
        concurrency=concurrency,
        clips=report.clips_asked,
        requests=online.requests,
        asking_s=timing.ended - timing.started,
        total_s=total,
        bytes_per_request=online.body_bytes / online.requests,
        encoded=cache.misses,
        hits=cache.hits,
        ms_per_image=1000 * cache.encode_cpu_seconds / max(cache.misses, 1),
        ms_per_clip=1000 * cache.encode_cpu_seconds / report.clips_asked,
        client_cpu_s=(after.ru_utime + after.ru_stime) - (cpu.ru_utime + cpu.ru_stime),
        server_cpu_s=server.cpu_seconds,
    )


def table(rows: list[Row]) -> str:
    lines = [
        "| select | concurrency | clips | requests | asking req/s | end-to-end req/s "
        "| kB/request | images encoded / reused | image CPU ms per frame (decode+encode) "
        "| image CPU ms per clip (cached / 8 uncached) | client CPU ms/request "
        "| server CPU ms/request |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.select} | {r.concurrency} | {r.clips} | {r.requests} "
            f"| **{r.requests / r.asking_s:.0f}** | {r.requests / r.total_s:.0f} "
            f"| {r.bytes_per_request / 1000:.0f} | {r.encoded} / {r.hits} "
            f"| {r.ms_per_image:.1f} | {r.ms_per_clip:.0f} / {8 * r.ms_per_image:.0f} "
            f"| {1000 * r.client_cpu_s / r.requests:.2f} "
            f"| {1000 * r.server_cpu_s / r.requests:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=20.0, help="sequence length (20)")
    parser.add_argument("--concurrency", default="16,64", help="comma list (16,64)")
    parser.add_argument("--one", action="store_true", help="also run --select one")
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(_serve())
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-annotate-") as tmp:
        built = build_dataset(Path(tmp), args.seconds)
        runs = [("best", int(c)) for c in args.concurrency.split(",")]
        runs += [("one", int(args.concurrency.split(",")[0]))] if args.one else []
        rows = [run_once(built, Path(tmp), select, c) for select, c in runs]
    print(f"annotate client, 640x480 frames, 8 per request, JPEG, {os.cpu_count()} cores\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
