"""``egpt-dsec preview``: the gallery of a tiny build, its files, and the page in Chromium."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image

from browser import Browser, chromium_path
from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import parse_durations
from egpt_dsec.kinds import DEFAULT_COMPONENTS
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.pipeline import build
from egpt_dsec.reports.preview import add_preview_arguments, run_preview
from egpt_dsec.reports.preview.dataset import (
    choose,
    estimated_frame_time,
    load_entries,
    recorded_overlap,
    to_clip,
)
from egpt_dsec.reports.preview.labels import BOX_RGB
from egpt_dsec.reports.preview.overlay import Alignment, draw_events, overlay
from egpt_dsec.synth import SynthSpec, write_synthetic_dsec
from label_reference import read_rows

SPEC = SynthSpec(
    sequences=1, test_sequences=1, seconds=3.0, rate=1e5, seed=2, frame_size=(320, 240)
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("preview")
    write_synthetic_dsec(root / "dsec", SPEC)
    components = (*DEFAULT_COMPONENTS, "label_qa")  # the label questions too, to draw
    config = BuildConfig(
        root / "dsec",
        root / "out",
        durations=parse_durations("1s,2s"),
        components=components,
        workers=1,
    )
    assert not build(config).failures
    return root / "dsec", root / "out"


def shown_clips(out: Path, per_duration: int = 2) -> int:
    """How many clips a gallery of ``per_duration`` clips per split and duration shows."""
    files = out.glob("*/*/EventGPT_Instruction_Subset.json")
    return sum(min(per_duration, len(json.loads(f.read_text()))) for f in files)


def preview(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_preview_arguments(parser)
    return run_preview(parser.parse_args(list(argv)))


@pytest.fixture(scope="module")
def gallery(built: tuple[Path, Path]) -> Path:
    dsec, out = built
    assert preview("--out", str(out), "--clips", "2", "--dsec-root", str(dsec)) == 0
    return out / "preview"


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.links.append((tag, value))


def page_links(index: Path) -> list[tuple[str, str]]:
    parser = Links()
    parser.feed(index.read_text(encoding="utf-8"))
    return parser.links


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_every_link_is_a_local_file(gallery: Path, built: tuple[Path, Path]) -> None:
    links = page_links(gallery / "index.html")
    files = [(tag, v) for tag, v in links if not v.startswith(("#", "data:"))]
    assert all("://" not in v for _, v in files)  # no CDN, no server
    for _, value in files:
        assert (gallery / unquote(value)).resolve().is_file(), value
    tags = [tag for tag, _ in files]
    clips = shown_clips(built[1])
    assert clips >= 6  # up to 2 clips x 2 durations x 2 splits
    assert tags.count("video") == clips  # each clip with its MP4
    assert tags.count("img") >= clips * (5 + 2)  # five event images and a strip per clip
    assert sum(v.endswith(".mp4") and v.startswith("../train/1s/mp4/") for _, v in files) == 2


def test_gallery_content(gallery: Path, built: tuple[Path, Path]) -> None:
    text = (gallery / "index.html").read_text(encoding="utf-8")
    assert "synth_00_1s_000000" in text and "synth_test_00_2s_" in text
    assert "(no answer yet)" in text and "Question" in text
    assert text.count("frame warped into the event view; events rectified") == shown_clips(built[1])
    sheets = sorted(p.name for p in (gallery / "assets").glob("contact_*.png"))
    assert sheets == [f"contact_{s}_{d}.png" for s in ("test", "train") for d in ("1s", "2s")]
    with Image.open(gallery / "assets" / "contact_train_1s.png") as im:
        assert im.size == (640, 2 * (240 + 16)) and np.asarray(im).std() > 20


def box_pictures(gallery: Path) -> list[tuple[Path, str, str]]:
    """(picture, split, entry id) of every picture with labelled boxes."""
    found = []
    for path in sorted((gallery / "assets").glob("*_boxes_*.png")):
        split, _, rest = path.stem.partition("_")
        found.append((path, split, rest.rsplit("_boxes_", 1)[0]))
    return found


def expected_boxes(built: tuple[Path, Path], split: str, entry_id: str, kind: str) -> list:
    """The boxes a picture shows, recomputed from tracks.npy: over the last event image,
    those of the clip's last label time in the raw view (the build's); over the events
    and frame, the label time of the middle frame, moved into the rectified view."""
    dsec, out = built
    sequence, label, _ = entry_id.rsplit("_", 2)
    duration = parse_durations(label)[0]
    entry = next(e for e in load_entries(out, split, duration) if e["id"] == entry_id)
    clip = to_clip(out, split, duration, entry)
    folder = dsec / split / sequence
    rectify = folder / "events/left/rectify_map.h5" if kind == "frame" else None
    rows = [r for r in read_rows(folder / "object_detections/left/tracks.npy", rectify)
            if clip.time_start <= r.t < clip.time_end]  # fmt: skip
    if kind == "events":
        at = max(r.t for r in rows)
    else:
        stamps = np.loadtxt(folder / "images/timestamps.txt", dtype=np.int64)
        at = int(stamps[int(clip.middle_frame.stem)]) if clip.middle_frame else 0
    return [r for r in rows if r.t == at]


def test_label_boxes_are_drawn_on_the_pictures(gallery: Path, built: tuple[Path, Path]) -> None:
    """Every box's four edges are in the box colour, where tracks.npy puts them."""
    pictures = box_pictures(gallery)
    assert len(pictures) == 2 * shown_clips(built[1])  # over an event image and a frame
    for path, split, entry_id in pictures:
        kind = path.stem.rsplit("_", 1)[1]
        boxes = expected_boxes(built, split, entry_id, kind)
        pixels = np.asarray(Image.open(path).convert("RGB"))
        assert pixels.shape == (480, 640, 3) and boxes
        green = np.all(pixels == BOX_RGB, axis=2)
        for b in boxes:
            x0, y0 = max(round(b.x0), 0), max(round(b.y0), 0)
            x1, y1 = min(round(b.x1), 640), min(round(b.y1), 480)
            assert green[y0, x0:x1].all() and green[y1 - 1, x0:x1].all(), (path.name, b)
            assert green[y0:y1, x0].all() and green[y0:y1, x1 - 1].all(), (path.name, b)
        assert green.mean() < 0.2  # outlines, not filled boxes


def test_same_bytes_and_no_stale_assets(gallery: Path, built: tuple[Path, Path]) -> None:
    dsec, out = built
    before = digests(gallery)
    stale = gallery / "assets" / "old_clip_overlay.png"
    stale.write_bytes(b"x")
    assert preview("--out", str(out), "--clips", "2", "--dsec-root", str(dsec)) == 0
    assert digests(gallery) == before and not stale.exists()
    assert not [p for p in gallery.rglob("*") if p.name.startswith(".")]  # no temp files


def test_without_the_source_the_overlay_is_as_built(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    """An output whose DSEC root has gone (moved, unmounted): no calibration to align."""
    out = tmp_path / "out"
    shutil.copytree(built[1], out, symlinks=True)
    record = StateLayout(out).last_build_file
    config = json.loads(record.read_text())
    config["dsec_root"] = str(tmp_path / "gone")
    record.write_text(json.dumps(config))
    dest = tmp_path / "gallery"
    args = ("--clips", "1", "--splits", "train", "--durations", "1s", "--dest", str(dest))
    assert preview("--out", str(out), *args) == 0
    text = (dest / "index.html").read_text(encoding="utf-8")
    assert "frame resized to 640x480 (not aligned); events as stored" in text
    assert "synth_test_00" not in text and "2s" not in text.split("<nav>")[1].split("</nav>")[0]
    assert preview("--out", str(tmp_path / "nothing")) == 2
    assert preview("--out", str(out), "--clips", "0") == 2


def test_frame_times_from_the_clip_start(built: tuple[Path, Path]) -> None:
    """Without the source, a frame's time comes from its index and the clip's start:
    the image timestamps to within their jitter (3 us in the synthetic data)."""
    dsec, out = built
    duration = parse_durations("1s")[0]
    stamps = np.loadtxt(dsec / "train/synth_00/images/timestamps.txt", dtype=np.int64)
    overlap = recorded_overlap(out)
    assert overlap == 0.5
    for entry in load_entries(out, "train", duration):
        clip = to_clip(out, "train", duration, entry)
        for frame in clip.frames:
            estimate = estimated_frame_time(clip, frame, overlap)
            assert abs(estimate - stamps[int(frame.stem)]) <= 3


def test_choose_spreads_evenly() -> None:
    entries = [{"id": i} for i in range(10)]
    assert [e["id"] for e in choose(entries, 3)] == [0, 4, 9]  # rint(4.5) = 4
    assert [e["id"] for e in choose(entries, 1)] == [0]
    assert len(choose(entries, 20)) == 10 and choose([], 3) == [] and choose(entries, 0) == []


def test_overlay_draws_the_last_event_and_says_how() -> None:
    base = np.full((480, 640, 3), 100, np.uint8)
    x, y = np.array([3, 3, 10], np.uint16), np.array([4, 4, 479], np.uint16)
    drawn = draw_events(base, x, y, np.array([1, 0, 1], np.uint8))
    assert tuple(drawn[4, 3]) == (40, 90, 255) and tuple(drawn[479, 10]) == (255, 40, 40)
    assert tuple(drawn[0, 0]) == (60, 60, 60)  # the frame, dimmed
    frame = np.zeros((240, 320, 3), np.uint8)
    picture, caption = overlay(frame, x, y, np.ones(3, np.uint8), Alignment("event"))
    assert picture.shape == (480, 640, 3) and caption.startswith("frame in the event view")
    with pytest.raises(ValueError, match="frames_view"):
        Alignment("sideways")


@pytest.mark.skipif(
    chromium_path() is None, reason="chromium not installed (apt-get install -y chromium)"
)
def test_page_in_chromium(gallery: Path, built: tuple[Path, Path], tmp_path: Path) -> None:
    with Browser(tmp_path / "profile") as browser:
        browser.open((gallery / "index.html").resolve().as_uri())
        images = browser.evaluate(
            "[...document.images].map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])"
        )
        codec = browser.evaluate(
            "document.createElement('video').canPlayType('video/mp4; codecs=\"avc1.42E01E\"')"
        )
        videos = browser.evaluate(VIDEO_STATES, timeout_s=60)
        boxes = browser.evaluate(
            "[...document.querySelectorAll('figure.boxes img')].map(i => i.naturalWidth)"
        )
        labels = browser.evaluate(
            "[...document.querySelectorAll('details.labels')].map(d => d.innerText)"
        )
        screenshot = browser.screenshot()
        errors = browser.errors()
    clips = shown_clips(built[1])
    assert len(images) >= 7 * clips and all(done and width > 0 for _, done, width in images)
    assert len(videos) == clips
    assert boxes == [640] * (2 * clips)  # every label clip's boxes, loaded and shown
    assert len(labels) == clips and all("Label questions" in text for text in labels)
    assert all(re.search(r"count: How many|There (is|are) \d+|Yes\.", t) for t in labels)
    if codec == "probably":  # this Chromium decodes H.264: every video must load
        assert all(state >= 1 and error is None for state, error in videos), videos
    assert errors == []
    pixels = np.asarray(Image.open(io.BytesIO(screenshot)).convert("L"), dtype=np.float64)
    assert pixels.shape[1] >= 1000 and pixels.std() > 20  # a page with pictures, not blank


# Resolves when every <video> has its metadata (readyState >= 1) or an error, or after 20 s.
VIDEO_STATES = """
new Promise(resolve => {
  const videos = [...document.querySelectorAll('video')];
  const done = () => videos.every(v => v.readyState >= 1 || v.error);
  const report = () => resolve(videos.map(v => [v.readyState, v.error && v.error.code]));
  const start = Date.now();
  const poll = () => (done() || Date.now() - start > 20000) ? report() : setTimeout(poll, 100);
  videos.forEach(v => v.load());
  poll();
})
"""
