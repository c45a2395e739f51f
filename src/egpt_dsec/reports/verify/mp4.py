"""A clip's MP4: every frame decodes, the stored count is exact, and a sequence shares one
size (the source's, or the event view's 640x480)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import av

from egpt_dsec.config import EVENT_VIEW
from egpt_dsec.kinds import MP4
from egpt_dsec.render.warp import EVENT_VIEW_SIZE
from egpt_dsec.reports.verify.built import Built
from egpt_dsec.reports.verify.report import ClipId, Problem
from egpt_dsec.reports.verify.sources import Source
from egpt_dsec.reports.verify.task import ClipTask
from egpt_dsec.writers.video_frame import PIX_FMT, video_size


@dataclass(frozen=True)
class Mp4Size:
    """A good MP4's size, kept until its sequence's sizes can be compared."""

    path: Path
    size: tuple[int, int]
    clip_id: ClipId


def mp4_problems(task: ClipTask) -> tuple[list[Problem], Mp4Size | None]:
    r = task.record
    path = task.path(MP4)
    found = _decoded_size(path, r.frame_stop - r.frame_start)
    if isinstance(found, str):
        return [task.problem(MP4.name, path, found)], None
    return [], Mp4Size(path, found, task.clip_id)


@dataclass(frozen=True)
class _Decoded:
    codec: str
    stored: int  # the frame count the container stores (what Video-LLaVA samples by)
    decoded: int
    size: tuple[int, int] | None
    pix_fmt: str | None


def _decoded_size(path: Path, frames: int) -> str | tuple[int, int]:
    """Its (width, height), or what is wrong: Video-LLaVA samples by the stored frame count."""
    if not path.is_file():
        return "missing"
    try:
        found = _decode(path)
    except Exception as exc:  # PyAV raises FFmpeg errors of many kinds for broken files
        return f"cannot be decoded ({type(exc).__name__}: {exc})"
    if found is None:
        return "no video stream"
    problems = (
        (found.decoded != frames, f"decodes to {found.decoded} frames, expected {frames}"),
        (found.stored != frames, f"container stores {found.stored} frames, expected {frames}"),
        (found.codec != "h264", f"codec {found.codec}, expected h264"),
        (
            found.size is None or found.size[0] % 2 or found.size[1] % 2,
            f"size {found.size} is not even",
        ),
        (found.pix_fmt != PIX_FMT, f"pixel format {found.pix_fmt}, expected {PIX_FMT}"),
    )
    what = next((text for bad, text in problems if bad), None)
    if what is not None or found.size is None:
        return what or "no frame"
    return found.size


def _decode(path: Path) -> _Decoded | None:
    """Decode every frame; the first frame's size and pixel format."""
    size, pix_fmt, decoded = None, None, 0
    with av.open(str(path), "r") as container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if size is None:
                size, pix_fmt = (frame.width, frame.height), frame.format.name
            decoded += 1
        return _Decoded(stream.codec_context.name, stream.frames, decoded, size, pix_fmt)


def mp4_size_problems(
    found: list[Mp4Size], sources: dict[tuple[str, str], Source], built: Built
) -> list[Problem]:
    """All MP4s of a sequence share one size: the source's (made even) or the most common."""
    by_sequence: dict[tuple[str, str], list[Mp4Size]] = {}
    for mp4 in found:
        by_sequence.setdefault(mp4.clip_id[:2], []).append(mp4)
    problems = []
    for key, mp4s in sorted(by_sequence.items()):
        if key in sources:
            want = sources[key].video_size
        elif (size := built.of(MP4).video.size) is not None:
            want = video_size(*size, None)
        elif built.of(MP4).frames_view == EVENT_VIEW:
            want = video_size(*EVENT_VIEW_SIZE, None)
        else:
            want = Counter(mp4.size for mp4 in mp4s).most_common(1)[0][0]
        for mp4 in mp4s:
            if mp4.size != want:
                what = f"size {mp4.size[0]}x{mp4.size[1]}, expected {want[0]}x{want[1]}"
                problems.append(Problem(mp4.path, MP4.name, *mp4.clip_id, what))
    return problems
