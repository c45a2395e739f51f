"""Codecs side by side, on one core and on two threads: which one the build should use.

- frame PNG decode (1440x1080 synthetic DSEC-like frames): Pillow, FFmpeg (PyAV, the
  build's choice), libspng (``pyspng``) and OpenCV when installed;
- RGB -> yuv420p: the NumPy reference and the compiled kernel the build uses;
- event image PNG encode (real DSEC events, EventGPT drawing): Pillow (the build's
  choice until issue 11), FFmpeg (PyAV, the build's choice: no row filter) and OpenCV,
  with sizes (their bytes differ; the pixels do not);
- x264: one thread (the build's) against a FIXED 2 threads, frame threads or slice
  threads (PyAV's default), and whether each gives the same bytes in every run, with the
  process pinned to one core and on two;
- npy-sized writes: plain (the page cache grows by every byte) against written behind
  (``egpt_dsec.fs.WriteBehind``, as the build writes its npy files).

"2 threads" runs the same work in two threads at once: a speedup near 2 means the codec
lets the other thread run (releases the GIL), near 1 means it holds it.

    .venv/bin/python benchmarks/bench_codecs.py [--frames 40]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from egpt_dsec.kinds.mp4 import Mp4Options
from egpt_dsec.render.event_image import render
from egpt_dsec.synth.frames import FrameRenderer, PngEncoder
from egpt_dsec.synth.real import load_windows
from egpt_dsec.synth.scene import Scene
from egpt_dsec.writers.mp4 import add_h264_stream
from egpt_dsec.writers.video_frame import rgb_to_yuv420, to_video_frame

W, H = 1440, 1080


def best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def two_threads(fn: Callable[[], object]) -> float:
    """Wall time of ``fn`` run in two threads at once."""
    threads = [threading.Thread(target=fn) for _ in range(2)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def row(name: str, items: int, fn: Callable[[], object], extra: str = "") -> None:
    fn()  # warm up (imports, compilation, caches)
    one = best(fn)
    two = two_threads(fn)
    print(f"| {name} | {one / items * 1e3:.2f} | {2 * one / two:.2f} | {extra} |")


def frame_pngs(count: int) -> list[bytes]:
    scene = Scene.random(np.random.default_rng(0))
    renderer, encoder = FrameRenderer(scene, W, H), PngEncoder(W, H)
    return [encoder.encode(renderer.render(i / 20)) for i in range(count)]


def decoders() -> dict[str, Callable[[bytes], NDArray[np.uint8]]]:
    def pillow(data: bytes) -> NDArray[np.uint8]:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"))

    def ffmpeg(data: bytes) -> NDArray[np.uint8]:
        codec = av.CodecContext.create("png", "r")
        return codec.decode(av.Packet(data))[0].to_ndarray()

    found: dict[str, Callable[[bytes], Any]] = {"Pillow": pillow, "FFmpeg (PyAV)": ffmpeg}
    try:
        import pyspng

        found["libspng (pyspng)"] = pyspng.load
    except ImportError:
        print("(pyspng not installed: skipped)", file=sys.stderr)
    try:
        import cv2

        cv2.setNumThreads(1)
        found["OpenCV (BGR)"] = lambda d: cv2.imdecode(np.frombuffer(d, np.uint8), -1)
    except ImportError:
        print("(opencv not installed: skipped)", file=sys.stderr)
    return found


def bench_decode(pngs: list[bytes]) -> None:
    print(f"\n#### Frame PNG decode, {W}x{H}, {len(pngs)} frames")
    print("\n| decoder | ms / frame, one thread | 2 threads: speedup | |\n|---|---|---|---|")
    reference = decoders()["Pillow"](pngs[0])
    for name, decode in decoders().items():
        pixels = decode(pngs[0])
        same = np.array_equal(pixels[..., ::-1] if "BGR" in name else pixels, reference)
        row(name, len(pngs), lambda d=decode: [d(p) for p in pngs], f"same pixels: {same}")
    rgb = decoders()["Pillow"](pngs[0])
    print("\n| RGB -> yuv420p | ms / frame | 2 threads: speedup | |\n|---|---|---|---|")
    row("NumPy (reference)", 10, lambda: [rgb_to_yuv420(rgb) for _ in range(10)])
    row("compiled kernel (build)", 10, lambda: [to_video_frame(rgb, W, H) for _ in range(10)])


def event_images() -> list[NDArray[np.uint8]]:
    """Each real 50 ms window split in 5 parts by count, drawn EventGPT's way."""
    images = []
    for window in load_windows():
        k = len(window) // 5
        for i in range(5):
            part = window.slice(i * k, (i + 1) * k)
            images.append(render(part.x, part.y, part.p, "last"))
    return images


def encoders() -> dict[str, Callable[[NDArray[np.uint8]], bytes]]:
    def pillow(pixels: NDArray[np.uint8]) -> bytes:
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, format="PNG", compress_level=1, optimize=False)
        return out.getvalue()

    def ffmpeg(pred: str) -> Callable[[NDArray[np.uint8]], bytes]:
        def encode(pixels: NDArray[np.uint8]) -> bytes:
            codec = av.CodecContext.create("png", "w")
            codec.width, codec.height, codec.pix_fmt = 640, 480, "rgb24"
            codec.options = {"compression_level": "1", "pred": pred}
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            return b"".join(bytes(p) for p in codec.encode(frame))

        return encode

    found = {
        "Pillow level 1 (adaptive filters)": pillow,
        "FFmpeg level 1, pred none (build)": ffmpeg("none"),
        "FFmpeg level 1, pred paeth": ffmpeg("paeth"),
    }
    try:
        import cv2

        found["OpenCV level 1"] = lambda p: cv2.imencode(
            ".png", p[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1]
        )[1].tobytes()
    except ImportError:
        pass
    return found


def bench_encode(images: list[NDArray[np.uint8]]) -> None:
    print(f"\n#### Event image PNG encode, 640x480, {len(images)} real-event images")
    print("\n| encoder | ms / image, one thread | 2 threads: speedup | kB / image |")
    print("|---|---|---|---|")
    for name, encode in encoders().items():
        size = sum(len(encode(p)) for p in images) / len(images) / 1e3
        row(name, len(images), lambda e=encode: [e(p) for p in images], f"{size:.1f}")


def x264_bytes(frames: list[av.VideoFrame], threads: int, kind: str) -> tuple[str, float]:
    """sha256 and seconds per frame of one encode with ``threads`` of ``kind`` (FRAME,
    the build's, or SLICE, PyAV's default)."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "x.mp4"
        started = time.perf_counter()
        with av.open(str(path), "w", format="mp4", container_options={"fflags": "+bitexact"}) as c:
            stream = add_h264_stream(c, W, H, Mp4Options(), f"threads={threads}")
            stream.codec_context.thread_count = threads
            stream.codec_context.thread_type = kind
            for i, frame in enumerate(frames):
                frame.pts = i
                c.mux(stream.encode(frame))
            c.mux(stream.encode(None))
        seconds = time.perf_counter() - started
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12], seconds / len(frames)


def bench_x264(pngs: list[bytes], runs: int = 4) -> None:
    """Each setting encoded ``runs`` times on both cores and ``runs`` times pinned to one:
    a deterministic one shows one hash in both columns."""
    frames = [to_video_frame(decoders()["Pillow"](p), W, H) for p in pngs]
    print(f"\n#### x264, preset fast, crf 28, mbtree off, {W}x{H}, {len(frames)} frames")
    print(f"\n| threads | ms / frame (2 cores) | hashes of {runs} runs pinned to 1 core "
          f"| of {runs} runs on 2 cores |\n|---|---|---|---|")  # fmt: skip
    cores = os.sched_getaffinity(0)
    settings = [("1 (the build's)", 1, "FRAME"), ("2 frame threads", 2, "FRAME")]
    settings.append(("2 slice threads", 2, "SLICE"))
    for name, threads, kind in settings:
        on_two = [x264_bytes(frames, threads, kind) for _ in range(runs)]
        os.sched_setaffinity(0, {min(cores)})
        try:
            on_one = [x264_bytes(frames, threads, kind)[0] for _ in range(runs)]
        finally:
            os.sched_setaffinity(0, cores)
        per_frame = min(seconds for _, seconds in on_two)
        hashes_two = ", ".join(sorted({digest for digest, _ in on_two}))
        hashes_one = ", ".join(sorted(set(on_one)))
        print(f"| {name} | {per_frame * 1e3:.1f} | {hashes_one} | {hashes_two} |")


def write_speed(folder: Path, behind: bool, total: int = 2**31, block: int = 4 * 2**20) -> str:
    """MB/s and system seconds of writing ``total`` bytes, then fsync."""
    import resource

    from egpt_dsec.fs import WriteBehind

    data = os.urandom(block)
    fd, name = tempfile.mkstemp(dir=folder)
    try:
        writer = WriteBehind(fd) if behind else None
        before = resource.getrusage(resource.RUSAGE_SELF).ru_stime
        started = time.perf_counter()
        for i in range(total // block):
            os.pwrite(fd, data, i * block)
            if writer is not None:
                writer.wrote(i * block, block)
        os.fsync(fd)
        seconds = time.perf_counter() - started
        system = resource.getrusage(resource.RUSAGE_SELF).ru_stime - before
    finally:
        os.close(fd)
        os.unlink(name)
    return f"{total / seconds / 1e6:,.0f} MB/s, {system:.2f} s system time"


def bench_writes(folder: Path) -> None:
    print(f"\n#### 2 GiB in 4 MiB writes, then fsync, in {folder}")
    print("\n| how | speed |\n|---|---|")
    for behind in (False, True, False, True):
        name = "written behind (build)" if behind else "plain"
        print(f"| {name} | {write_speed(folder, behind)} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path("bench-out"), help="for the writes")
    args = parser.parse_args(argv)
    print(f"load average at start: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    pngs = frame_pngs(args.frames)
    bench_decode(pngs)
    bench_encode(event_images())
    bench_x264(pngs)
    args.out.mkdir(parents=True, exist_ok=True)
    bench_writes(args.out)
    print(f"\nload average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
