"""The dataset card's Markdown sections below its YAML (pure: facts in, lines out):
what the data is, how to load it, the camera views, statistics, how it was built, and
the license of its source. The answers' section is in ``writers.card_answers``."""

from __future__ import annotations

import json
from typing import Any

from egpt_dsec.humanize import format_bytes, markdown_table
from egpt_dsec.writers.card_answers import answers_section, fence
from egpt_dsec.writers.card_facts import EVENTGPT, CardFacts, GroupStats
from egpt_dsec.writers.card_labels import labels_section

DSEC_CITATION = """@article{Gehrig21ral,
  author  = {Mathias Gehrig and Willem Aarents and Daniel Gehrig and Davide Scaramuzza},
  title   = {{DSEC}: A Stereo Event Camera Dataset for Driving Scenarios},
  journal = {IEEE Robotics and Automation Letters},
  year    = {2021},
  doi     = {10.1109/LRA.2021.3068942}
}"""


def _intro(facts: CardFacts) -> list[str]:
    what = [
        "Each clip is stored as its events (EventGPT `.npy`), event images, the camera",
        "frames of the clip, an H.264 MP4 and JSON conversations that EventGPT and",
        f"Video-LLaVA train on unchanged. Built with egpt-dsec {facts.version}; the windows",
        f"of each duration overlap by {float(facts.options.get('overlap', 0.5)):.0%}.",
    ]
    if not facts.synthetic:
        return [
            "Clips of the [DSEC](https://dsec.ifi.uzh.ch/) event-camera dataset (driving",
            "scenes, Gehrig et al. 2021), cut into windows of several durations.",
            *what,
        ]
    made = "\n".join(facts.synth_commands) or "(the synth command is not recorded)"
    return [
        "> **Synthetic test data, not DSEC.** These clips were cut from event streams and",
        "> frames that `egpt-dsec synth` generated from a random seed (a simulated scene",
        "> seen by simulated cameras), laid out like a DSEC root. They hold no recording of",
        "> the DSEC dataset: use them to test a pipeline, not to train or evaluate a model.",
        "",
        *what,
        "",
        "The synthetic input was made with (`DSEC`: the folder it wrote; the seed and",
        "every setting are on the line):",
        "",
        *fence(made, "sh"),
    ]


def _loading(facts: CardFacts) -> list[str]:
    names = [c.name for c in facts.configs]
    first = next((n for n in names if n != "all" and "_" not in n), "all")
    video = next((n for n in names if n.startswith("videollava_")), "")
    lines = [
        "```python",
        "import datasets",
        'every = datasets.load_dataset("path/to/this/folder")  # "all": EventGPT, every duration',
        f'clips = datasets.load_dataset("path/to/this/folder", "{first}")',
    ]
    if video:
        lines.append(f'videos = datasets.load_dataset("path/to/this/folder", "{video}")')
    lines += ["```", "", "| config | trainer | files |", "|---|---|---|"]
    for config in facts.configs:
        files = ", ".join(f"{split}: `{path}`" for split, path in config.files)
        lines.append(f"| `{config.name}` | {config.trainer} | {files} |")
    folders = ", ".join(f"`{k}/`" for k in facts.clip_kinds) or "none"
    return [
        *lines,
        "",
        f"A duration's {EVENTGPT} file names each clip's files relative to the kind folders",
        f"beside it: {folders}. Its `videollava.json` names the MP4s relative to",
        "`mp4/`. A split's `dataset.json` and `videollava.json` cover every duration, with",
        "paths relative to the split folder.",
    ]


def _coordinates(options: dict[str, Any]) -> list[str]:
    """Which camera view the events and the frames are in (``--rectify-events``,
    ``--frames-view``): what a user must know before overlaying them."""
    side = options.get("camera", "left")
    events = (
        f"- Events: in the rectified view of the {side} event camera (640x480), moved"
        "\n  through `rectify_map.h5` and rounded; events landing outside were dropped."
        if options.get("rectify_events")
        else f"- Events: raw pixels of the {side} event camera (640x480, lens distortion kept)."
    )
    frames = (
        "- Frames: warped into the same rectified event view (640x480), so they lie"
        "\n  under the events."
        if options.get("frames_view") == "event"
        else f"- Frames: the rectified frames of the {side} frame camera, a different"
        "\n  camera: resized to 640x480 they do not lie under the events."
    )
    return [events, frames]


def _stat_cells(s: GroupStats, kinds: tuple[str, ...], extra: int = 0) -> list[str]:
    """The row of one group (``extra``: bytes beyond its kinds', for the total)."""
    counts = [f"{n:,}" for n in (s.clips, s.empty, s.no_frame)]
    counts.append("" if s.no_mp4 is None else f"{s.no_mp4:,}")
    sizes = [format_bytes(s.bytes.get(k, 0)) for k in kinds]
    total = format_bytes(sum(s.bytes.values()) + extra)
    return [*counts, f"{s.events:,}", f"{s.seconds:,.1f}", *sizes, total]


def _total(stats: list[GroupStats]) -> GroupStats:
    kinds = sorted({k for s in stats for k in s.bytes})
    no_mp4 = [s.no_mp4 for s in stats if s.no_mp4 is not None]
    return GroupStats(
        split="total",
        duration="",
        clips=sum(s.clips for s in stats),
        empty=sum(s.empty for s in stats),
        no_frame=sum(s.no_frame for s in stats),
        no_mp4=sum(no_mp4) if no_mp4 else None,
        events=sum(s.events for s in stats),
        seconds=sum(s.seconds for s in stats),
        bytes={k: sum(s.bytes.get(k, 0) for s in stats) for k in kinds},
    )


def _statistics(facts: CardFacts) -> list[str]:
    if not facts.stats:
        return ["No clip is finished yet."]
    head = ["split", "duration", "clips", "empty windows", "no frame", "no MP4"]
    head += ["events", "seconds", *facts.kinds, "all files"]
    extra = sum(facts.split_bytes.values())
    rows = markdown_table(
        [
            head,
            *([s.split, s.duration, *_stat_cells(s, facts.kinds)] for s in facts.stats),
            ["**total**", "", *_stat_cells(_total(facts.stats), facts.kinds, extra)],
        ]
    )
    min_frames = facts.options.get("mp4.min_frames")
    return [
        *rows,
        "",
        "- clips: windows with events, one entry each (answers may leave some out, see",
        "  below); empty windows have no events, so no files and no entry.",
        "- no frame: clips with no camera frame inside the window (no frame folder).",
        f"- no MP4: clips with fewer than {min_frames} frames: no MP4, so not in the"
        if min_frames is not None
        else "- no MP4: clips without an MP4 (this output has no MP4s):",
        "  Video-LLaVA files.",
        "- seconds: of recording covered by the clips; events count each clip's copy.",
        "- sizes: the bytes of each kind's files; frames linked to the source count at",
        "  their size (a hard link takes no extra disk). The total adds the split files",
        f"  ({format_bytes(extra)}).",
    ]


def _option_value(name: str, value: Any) -> str:
    """As the options record holds it (JSON), but the questions by their count."""
    if name == "json.questions":
        return f"{len(value)} questions (under Answers)"
    return json.dumps(value, ensure_ascii=False)


def _how_built(facts: CardFacts) -> list[str]:
    options = [
        f"| `{name}` | `{_option_value(name, value)}` |"
        for name, value in sorted(facts.options.items())
    ]
    lines = [
        f"egpt-dsec {facts.version}, with `DSEC` the DSEC root and `OUT` this folder:",
        "",
        *fence(facts.command or "egpt-dsec build ...", "sh"),
    ]
    if " --questions " in facts.command:
        lines += ["", "`questions.txt` holds the build's questions, one per line:", ""]
        lines += fence("\n".join(facts.build_questions), "text")
    return [*lines, "", "| option | value |", "|---|---|", *options]


def _license(facts: CardFacts) -> list[str]:
    if facts.synthetic:
        return [
            "This data was made by a program from a random seed: it contains no DSEC",
            "recording, so DSEC's license and citation do not apply to it, and no license",
            "is claimed for it here (`license: other`). Whoever generated it decides how it",
            "may be shared.",
        ]
    return [
        "This is a derived dataset of DSEC (Gehrig et al., RA-L 2021), licensed",
        "[CC BY-SA 4.0](https://creativecommons.org/licenses/by-sa/4.0/); so is this",
        "dataset. Cite DSEC when you use it:",
        "",
        *fence(DSEC_CITATION, "bibtex"),
    ]


def body(facts: CardFacts) -> list[str]:
    """Every section, in reading order."""
    sections = [
        ("Loading it", _loading(facts)),
        ("Coordinates", _coordinates(facts.options)),
        ("Statistics", _statistics(facts)),
        ("Answers", answers_section(facts)),
        *([("Label questions", labels_section(facts))] if facts.labels else []),
        ("How it was built", _how_built(facts)),
        ("License" if facts.synthetic else "License and attribution", _license(facts)),
    ]
    lines = [f"# {facts.title}", "", *_intro(facts)]
    for title, text in sections:
        lines += ["", f"## {title}", "", *text]
    return lines
