"""Frames to clip outputs: PNG decoding, frame folders, encoded and remuxed MP4 clips."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import av
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from egpt_dsec.kinds.mp4 import Mp4Options
from egpt_dsec.source.errors import InputError
from egpt_dsec.source.frames import decode_frame
from egpt_dsec.synth.frames import PngEncoder
from egpt_dsec.writers import frames as frames_module
from egpt_dsec.writers.frames import link_frames
from egpt_dsec.writers.mp4 import Mp4ClipWriter
from egpt_dsec.writers.mp4_remux import SequenceEncoder, remux_clip
from egpt_dsec.writers.video_frame import rgb_to_yuv420, to_video_frame, video_size

W, H = 160, 120


def scene(i: int, width: int = W, height: int = H) -> NDArray[np.uint8]:
    """A smooth, moving synthetic RGB picture: coloured waves that drift with ``i``."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 128 + 100 * np.sin((xx + 3 * i) / 15.0)
    g = 128 + 100 * np.cos((yy - 2 * i) / 11.0)
    b = 128 + 90 * np.sin((xx + yy + 4 * i) / 23.0)
    return np.stack([r, g, b], axis=-1).round().astype(np.uint8)


def encode(path: Path, frames: list[av.VideoFrame], options: Mp4Options | None = None) -> int:
    width, height = frames[0].width, frames[0].height
    with Mp4ClipWriter(path, width, height, options or Mp4Options()) as writer:
        for frame in frames:
            writer.add(frame)
    return writer.frames


def decode_rgb(path: Path) -> list[NDArray[np.uint8]]:
    with av.open(str(path)) as container:
        return [rgb_of(f) for f in container.decode(video=0)]


def rgb_of(frame: av.VideoFrame) -> NDArray[np.uint8]:
    return np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)


def psnr(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def no_temps(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if ".tmp-" in p.name]


# --- decode_frame ----------------------------------------------------------------------------


def test_decode_frame_returns_the_png_pixels(tmp_path: Path) -> None:
    pixels = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "000000.png")
    out = decode_frame(tmp_path / "000000.png")
    assert out.dtype == np.uint8 and out.shape == (48, 64, 3)
    np.testing.assert_array_equal(out, pixels)


@pytest.mark.parametrize("writer", ["pillow", "ffmpeg", "pillow-transparency", "pillow-rgba"])
def test_decode_frame_gives_pillows_pixels_for_any_png(tmp_path: Path, writer: str) -> None:
    pixels = scene(3)
    path = tmp_path / "000000.png"
    if writer == "ffmpeg":
        path.write_bytes(PngEncoder(W, H).encode(pixels))
    elif writer == "pillow-transparency":
        Image.fromarray(pixels).save(path, transparency=(1, 2, 3))
    elif writer == "pillow-rgba":
        Image.fromarray(pixels).convert("RGBA").save(path)
    else:
        Image.fromarray(pixels).save(path)
    with Image.open(path) as image:
        expected = np.asarray(image.convert("RGB"))
    np.testing.assert_array_equal(decode_frame(path), expected)


def test_decode_frame_converts_grey_to_rgb(tmp_path: Path) -> None:
    grey = np.arange(48 * 64, dtype=np.uint32).reshape(48, 64).astype(np.uint8)
    Image.fromarray(grey).save(tmp_path / "g.png")
    out = decode_frame(tmp_path / "g.png")
    assert out.shape == (48, 64, 3)
    np.testing.assert_array_equal(out[:, :, 1], grey)


@pytest.mark.parametrize("content", [None, b"not a png", "truncated"])
def test_decode_frame_names_the_broken_file(tmp_path: Path, content: bytes | str | None) -> None:
    path = tmp_path / "000007.png"
    if content == "truncated":
        Image.fromarray(scene(0)).save(path)
        path.write_bytes(path.read_bytes()[:200])
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(InputError, match=r"000007\.png") as info:
        decode_frame(path)
    assert info.value.path == path


# --- link_frames -----------------------------------------------------------------------------


@pytest.fixture
def sources(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "dsec" / "images"
    folder.mkdir(parents=True)
    paths = []
    for i in range(3):
        path = folder / f"{i + 10:06d}.png"
        path.write_bytes(f"frame {i}".encode())
        paths.append(path)
    return paths


def test_link_frames_hardlink_shares_the_inode(tmp_path: Path, sources: list[Path]) -> None:
    out = tmp_path / "video" / "seq" / "000000"
    link_frames(sources, out)
    assert sorted(p.name for p in out.iterdir()) == [s.name for s in sources]
    for src in sources:
        assert (out / src.name).stat().st_ino == src.stat().st_ino
    assert no_temps(tmp_path)


def test_link_frames_symlink_resolves_to_source(tmp_path: Path, sources: list[Path]) -> None:
    out = tmp_path / "video" / "seq" / "000000"
    link_frames(sources, out, "symlink")
    for src in sources:
        link = out / src.name
        assert link.is_symlink() and os.path.isabs(os.readlink(link))
        assert link.resolve() == src.resolve()


def test_link_frames_copy_has_same_bytes(tmp_path: Path, sources: list[Path]) -> None:
    out = tmp_path / "video" / "seq" / "000000"
    link_frames(sources, out, "copy")
    for src in sources:
        dst = out / src.name
        assert dst.read_bytes() == src.read_bytes()
        assert dst.stat().st_ino != src.stat().st_ino


def test_link_frames_falls_back_to_copy_across_devices(
    tmp_path: Path, sources: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def cross_device(src: object, dst: object) -> None:
        calls.append(src)
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(frames_module.os, "link", cross_device)
    out = tmp_path / "video" / "seq" / "000000"
    link_frames(sources, out)
    for src in sources:
        assert (out / src.name).read_bytes() == src.read_bytes()
    assert len(calls) == 1  # after one refusal the rest are copied directly
    assert no_temps(tmp_path)


def test_link_frames_replaces_an_old_folder_and_cleans_up_on_error(
    tmp_path: Path, sources: list[Path]
) -> None:
    out = tmp_path / "clip"
    out.mkdir()
    (out / "stale.png").write_bytes(b"old")
    link_frames(sources[:2], out)
    assert sorted(p.name for p in out.iterdir()) == [s.name for s in sources[:2]]
    with pytest.raises(FileNotFoundError):
        link_frames([*sources, tmp_path / "missing.png"], out)
    assert sorted(p.name for p in out.iterdir()) == [s.name for s in sources[:2]]
    assert no_temps(tmp_path)
    with pytest.raises(ValueError):
        link_frames(sources, out, "move")


# --- video_size / colour conversion ----------------------------------------------------------


def test_video_size_rounds_down_to_even() -> None:
    assert video_size(1440, 1080, None) == (1440, 1080)
    assert video_size(161, 121, None) == (160, 120)
    assert video_size(1440, 1080, (225, 223)) == (224, 222)
    with pytest.raises(ValueError):
        video_size(1440, 1080, (3, 1))


def test_rgb_to_yuv420_matches_bt601_limited_range() -> None:
    colours = {
        (0, 0, 0): (16, 128, 128),
        (255, 255, 255): (235, 128, 128),
        (255, 0, 0): (81, 90, 240),
        (0, 255, 0): (145, 54, 34),
        (0, 0, 255): (41, 240, 110),
    }
    for rgb, expected in colours.items():
        image = np.tile(np.array(rgb, dtype=np.uint8), (4, 6, 1))
        y, u, v = rgb_to_yuv420(image)
        assert (y.shape, u.shape, v.shape) == ((4, 6), (2, 3), (2, 3))
        assert (int(y[0, 0]), int(u[0, 0]), int(v[0, 0])) == expected, rgb


@pytest.mark.parametrize(("width", "height"), [(2, 2), (8, 6), (162, 120), (1440, 1080)])
def test_to_video_frame_kernel_matches_the_numpy_reference(width: int, height: int) -> None:
    rgb = np.random.default_rng(width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    frame = to_video_frame(rgb, width, height)
    for plane, expected in zip(frame.planes, rgb_to_yuv420(rgb), strict=True):
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
        np.testing.assert_array_equal(rows[: expected.shape[0], : expected.shape[1]], expected)


def test_to_video_frame_crops_odd_and_resizes_other_sizes() -> None:
    rgb = scene(0, 161, 121)
    frame = to_video_frame(rgb, 160, 120)
    assert (frame.width, frame.height, frame.format.name) == (160, 120, "yuv420p")
    y = frame.to_ndarray()[:120]
    np.testing.assert_array_equal(y, rgb_to_yuv420(rgb[:120, :160])[0])
    small = to_video_frame(rgb, 64, 48)
    assert (small.width, small.height) == (64, 48)
    with pytest.raises(ValueError):
        to_video_frame(rgb, 63, 48)


# --- Mp4ClipWriter ---------------------------------------------------------------------------


def test_mp4_clip_decodes_to_the_frames_written(tmp_path: Path) -> None:
    n = 12
    pictures = [scene(i) for i in range(n)]
    path = tmp_path / "mp4" / "seq" / "000000.mp4"
    assert encode(path, [to_video_frame(p, W, H) for p in pictures], Mp4Options(crf=18)) == n
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.codec_context.width, stream.codec_context.height) == (W, H)
        assert stream.average_rate == 20
        assert stream.frames == n
        assert "creation_time" not in container.metadata
        # BT.601 limited range, as converted, is written into the stream for every decoder.
        assert (stream.codec_context.colorspace, stream.codec_context.color_range) == (6, 1)
        decoded = [rgb_of(f) for f in container.decode(stream)]
    assert len(decoded) == n
    # About 38.5 dB here; swapped chroma gives ~10 dB and a BT.709 matrix ~28 dB.
    assert min(psnr(d, p) for d, p in zip(decoded, pictures, strict=True)) > 33
    assert no_temps(tmp_path)


def test_mp4_is_byte_identical_across_writes_and_shared_frames(tmp_path: Path) -> None:
    frames = [to_video_frame(scene(i), W, H) for i in range(10)]
    encode(tmp_path / "a.mp4", frames)
    encode(tmp_path / "b.mp4", [to_video_frame(scene(i), W, H) for i in range(10)])
    # One frame object fed to three open writers in turn, as the pipeline does.
    writers = [Mp4ClipWriter(tmp_path / f"s{k}.mp4", W, H, Mp4Options()) for k in range(3)]
    for frame in frames:
        for writer in writers:
            writer.add(frame)
    assert [w.commit() for w in writers] == [10, 10, 10]
    reference = (tmp_path / "a.mp4").read_bytes()
    for name in ("b.mp4", "s0.mp4", "s1.mp4", "s2.mp4"):
        assert (tmp_path / name).read_bytes() == reference, name


def test_mp4_pins_the_deterministic_x264_settings(tmp_path: Path) -> None:
    """x264 writes its settings into the stream: thread count and mbtree change the output."""
    encode(tmp_path / "a.mp4", [to_video_frame(scene(0), W, H)])
    data = (tmp_path / "a.mp4").read_bytes()
    for setting in (b" threads=1 ", b" lookahead_threads=1 ", b" mbtree=0 ", b" crf=28.0 "):
        assert setting in data, setting
    assert b"Lavf" not in data  # no library version in the container


def test_mp4_shared_frames_in_staggered_clips(tmp_path: Path) -> None:
    """A clip that starts later sees the frames with other writers' pts: it must not care."""
    frames = [to_video_frame(scene(i), W, H) for i in range(12)]
    early = Mp4ClipWriter(tmp_path / "early.mp4", W, H, Mp4Options())
    late = Mp4ClipWriter(tmp_path / "late.mp4", W, H, Mp4Options())
    for i, frame in enumerate(frames):
        early.add(frame)
        if i >= 4:
            late.add(frame)
    early.commit(), late.commit()
    encode(tmp_path / "alone.mp4", frames[4:])
    assert (tmp_path / "late.mp4").read_bytes() == (tmp_path / "alone.mp4").read_bytes()


def test_mp4_odd_source_size_is_rounded_to_even(tmp_path: Path) -> None:
    rgb = scene(0, 65, 49)
    width, height = video_size(65, 49, None)
    encode(tmp_path / "odd.mp4", [to_video_frame(rgb, width, height)] * 3)
    with av.open(str(tmp_path / "odd.mp4")) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (64, 48)
        assert len(list(container.decode(stream))) == 3


def test_mp4_requested_size(tmp_path: Path) -> None:
    width, height = video_size(W, H, (81, 61))
    encode(tmp_path / "s.mp4", [to_video_frame(scene(i), width, height) for i in range(3)])
    decoded = decode_rgb(tmp_path / "s.mp4")
    assert [d.shape for d in decoded] == [(60, 80, 3)] * 3


def test_mp4_abort_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "clip" / "000001.mp4"
    with pytest.raises(RuntimeError, match="boom"), Mp4ClipWriter(path, W, H, Mp4Options()) as w:
        w.add(to_video_frame(scene(0), W, H))
        raise RuntimeError("boom")
    assert not path.exists() and not list(path.parent.iterdir())
    empty = Mp4ClipWriter(path, W, H, Mp4Options())
    with pytest.raises(ValueError, match="at least one frame"):
        empty.commit()
    assert not list(path.parent.iterdir())


def test_mp4_refuses_a_frame_of_the_wrong_size(tmp_path: Path) -> None:
    writer = Mp4ClipWriter(tmp_path / "x.mp4", W, H, Mp4Options())
    with pytest.raises(ValueError, match="to_video_frame"):
        writer.add(to_video_frame(scene(0), 64, 48))
    writer.abort()
    assert not list(tmp_path.iterdir())


# --- remux mode ------------------------------------------------------------------------------


def test_remuxed_clips_match_the_full_encode(tmp_path: Path) -> None:
    n, keyframes = 40, range(0, 40, 5)
    frames = [to_video_frame(scene(i), W, H) for i in range(n)]
    encoder = SequenceEncoder(tmp_path / "scratch" / "seq.mp4", W, H, Mp4Options(), keyframes)
    for frame in frames:
        encoder.add(frame)
    with encoder.finish() as sequence:
        assert sequence.frames == n
        assert sequence.keyframes == frozenset(keyframes)
        full = [f.to_ndarray() for f in av.open(str(sequence.path)).decode(video=0)]
        for start, stop in [(0, 10), (5, 15), (10, 30), (30, 40), (35, 40)]:
            path = tmp_path / "mp4" / f"{start:06d}.mp4"
            assert remux_clip(sequence, start, stop, path) == stop - start
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                assert stream.frames == stop - start
                assert stream.average_rate == 20
                decoded = [f.to_ndarray() for f in container.decode(stream)]
            assert len(decoded) == stop - start
            for got, want in zip(decoded, full[start:stop], strict=True):
                np.testing.assert_array_equal(got, want)
        again = tmp_path / "again.mp4"
        remux_clip(sequence, 10, 30, again)
        assert again.read_bytes() == (tmp_path / "mp4" / "000010.mp4").read_bytes()
        with pytest.raises(ValueError, match="not a keyframe"):
            remux_clip(sequence, 3, 10, tmp_path / "bad.mp4")
        with pytest.raises(ValueError, match="must be a keyframe"):
            remux_clip(sequence, 0, 7, tmp_path / "bad.mp4")
        scratch = sequence.path
    assert not scratch.exists()
    assert not (tmp_path / "bad.mp4").exists() and no_temps(tmp_path)
