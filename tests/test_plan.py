"""Clip planning against the rules of REFERENCE.md section 2, checked by brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from egpt_dsec.config import BuildConfig
from egpt_dsec.durations import DEFAULT_DURATIONS, Duration, parse_durations
from egpt_dsec.plan.clips import nearest_frame, plan_clips, plan_windows
from egpt_dsec.plan.sequence import plan_sequence
from egpt_dsec.plan.shards import WHOLE_SEQUENCE, plan_shards


def _timestamps(seconds: float, jitter: int = 0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * 20) + 1
    ts = 36_607_300_936 + 50_000 * np.arange(n, dtype=np.int64)
    return ts + rng.integers(-jitter, jitter + 1, n) if jitter else ts


def _brute_force(ts: np.ndarray, d_us: int, stride: int) -> list[tuple[int, int, int, list[int]]]:
    out, k = [], 0
    while ts[0] + k * stride + d_us <= ts[-1]:
        t0 = int(ts[0]) + k * stride
        t1 = t0 + d_us
        frames = [i for i, t in enumerate(ts) if t0 <= t < t1]
        out.append((k, t0, t1, frames))
        k += 1
    return out


@pytest.mark.parametrize("jitter", [0, 40])
@pytest.mark.parametrize("duration", DEFAULT_DURATIONS)
def test_windows_match_brute_force(duration: Duration, jitter: int) -> None:
    ts = _timestamps(33.3, jitter=jitter)
    clips = plan_windows(ts, duration, 0.5)
    expected = _brute_force(ts, duration.us, duration.us // 2)
    assert len(clips) == len(expected) > 0
    for clip, (k, t0, t1, frames) in zip(clips, expected, strict=True):
        assert (clip.index, clip.t0, clip.t1) == (k, t0, t1)
        assert list(clip.frame_indices) == frames


def test_frame_counts_at_20hz() -> None:
    ts = _timestamps(20)
    for clip in plan_windows(ts, Duration.parse("500ms"), 0.5):
        assert len(clip.frame_indices) == 10
    for clip in plan_windows(ts, Duration.parse("16s"), 0.5):
        assert len(clip.frame_indices) == 320


def test_no_overlap_and_short_sequences() -> None:
    ts = _timestamps(10)
    assert [c.t0 - ts[0] for c in plan_windows(ts, Duration.parse("4s"), 0.0)] == [0, 4_000_000]
    assert plan_windows(ts, Duration.parse("16s"), 0.5) == []
    assert plan_windows(ts[:1], Duration.parse("500ms"), 0.5) == []
    assert plan_windows(np.empty(0, np.int64), Duration.parse("500ms"), 0.5) == []


def test_window_ending_exactly_on_last_timestamp_is_kept() -> None:
    ts = _timestamps(2)  # last timestamp is exactly T0 + 2 s
    clips = plan_windows(ts, Duration.parse("1s"), 0.5)
    assert clips[-1].t1 == ts[-1]
    assert len(clips) == 3


def test_plan_clips_is_in_streaming_order() -> None:
    clips = plan_clips(_timestamps(20), DEFAULT_DURATIONS, 0.5)
    starts = [c.t0 for c in clips]
    assert starts == sorted(starts)
    assert len({c.key for c in clips}) == len(clips)


def test_durations_parse_and_label() -> None:
    assert [d.label for d in parse_durations("16s,500ms,1s,1s")] == ["500ms", "1s", "16s"]
    assert Duration.parse("1500ms").label == "1500ms"
    for bad in ("", "5", "1.5s", "-1s", "2min"):
        with pytest.raises(ValueError):
            parse_durations(bad) if bad == "" else Duration.parse(bad)


def test_nearest_frame() -> None:
    ts = np.array([100, 200, 300], dtype=np.int64)
    assert [nearest_frame(ts, t) for t in (0, 149, 150, 151, 300, 999)] == [0, 0, 0, 1, 2, 2]


def test_image_idx_is_the_first_frame_or_the_one_nearest_the_end() -> None:
    ts = _timestamps(5, jitter=40, seed=2)
    for clip in plan_windows(ts, Duration.parse("1s"), 0.5):
        assert clip.image_idx == clip.frame_start  # inside the clip (the replaced scripts)
        assert clip.t0 <= ts[clip.image_idx] < clip.t1
    for clip in plan_windows(ts, Duration.parse("1s"), 0.5, "nearest-end"):
        distances = np.abs(ts - clip.t1)
        assert clip.image_idx == int(np.flatnonzero(distances == distances.min())[0])
    with pytest.raises(ValueError, match="image_idx"):
        plan_windows(ts, Duration.parse("1s"), 0.5, "middle")


@pytest.mark.parametrize("shard_s", [None, 7.0, 10.0, 60.0])
def test_shards_cover_the_sequence_and_own_each_clip_once(shard_s: float | None) -> None:
    ts = _timestamps(33.3, jitter=40)
    shard_us = None if shard_s is None else round(shard_s * 1e6)
    shards = plan_shards(ts, shard_us)
    assert shards[0].start == ts[0] and shards[-1].stop == ts[-1] + 1
    assert all(a.stop == b.start for a, b in itertools.pairwise(shards))
    assert len({s.count for s in shards}) == 1 and [s.index for s in shards] == list(
        range(len(shards))
    )
    if shard_us is not None:
        assert all(s.stop - s.start <= shard_us for s in shards)
        assert len(shards) == -(-(int(ts[-1]) + 1 - int(ts[0])) // shard_us)
    for clip in plan_clips(ts, DEFAULT_DURATIONS, 0.5):
        assert sum(s.owns(clip) for s in shards) == 1


def test_shard_units_name_the_manifest_files() -> None:
    ts = _timestamps(33.3)
    assert [s.unit for s in plan_shards(ts, None)] == [""]
    assert [s.unit for s in plan_shards(ts, 10_000_000)] == ["000", "001", "002", "003"]
    assert plan_shards(np.empty(0, np.int64), 10_000_000)[0].count == 1
    assert WHOLE_SEQUENCE.unit == ""


def test_sequence_plan_counts_and_shards() -> None:
    ts = _timestamps(10)
    plan = plan_sequence(ts, parse_durations("1s,16s"), 0.5, 4_000_000)
    assert plan.counts() == {"1s": 19, "16s": 0}
    assert plan.too_short_for == ("16s",)
    assert sum(len(plan.clips_of(s)) for s in plan.shards) == len(plan.clips) == 19
    assert all(plan.clips_of(s) for s in plan.shards)


def test_default_shards_reread_at_most_a_tenth() -> None:
    """Each shard reads from its first clip's start to its last clip's end."""
    timestamps = 36_000_000_000 + 50_000 * np.arange(20 * 600 + 1, dtype=np.int64)  # 600 s
    config_shard_us = round(BuildConfig.__dataclass_fields__["shard_seconds"].default * 1e6)
    plan = plan_sequence(timestamps, DEFAULT_DURATIONS, 0.5, config_shard_us)
    assert len(plan.shards) > 1
    read = 0
    for shard in plan.shards:
        clips = plan.clips_of(shard)
        read += max(c.t1 for c in clips) - min(c.t0 for c in clips)
    assert read / (int(timestamps[-1]) - int(timestamps[0])) <= 1.10
