"""The dataset card, ``OUT/README.md``: Hugging Face YAML, how to load it, statistics,
how it was built, and DSEC's license, attribution and citation.

Pure: statistics and facts in, Markdown out; no time stamps, so the same build gives
the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from egpt_dsec.humanize import format_bytes

DSEC_CITATION = """@article{Gehrig21ral,
  author  = {Mathias Gehrig and Willem Aarents and Daniel Gehrig and Davide Scaramuzza},
  title   = {{DSEC}: A Stereo Event Camera Dataset for Driving Scenarios},
  journal = {IEEE Robotics and Automation Letters},
  year    = {2021},
  doi     = {10.1109/LRA.2021.3068942}
}"""


@dataclass(frozen=True)
class GroupStats:
    """One split and duration of the built dataset."""

    split: str
    duration: str
    clips: int  # clips with events (the JSON entries)
    empty: int  # windows without events (no files)
    events: int  # events in the clips (each copy counted)
    seconds: float  # seconds of recording the clips cover
    bytes: dict[str, int] = field(default_factory=dict)  # kind -> bytes on disk


@dataclass(frozen=True)
class CardFacts:
    version: str
    command: str
    options: dict[str, object]  # dotted option -> value (the recorded config)
    configs: dict[str, list[tuple[str, str]]]  # config name -> [(split, path under OUT)]
    stats: list[GroupStats]
    kinds: tuple[str, ...]


def _yaml(facts: CardFacts) -> list[str]:
    lines = [
        "---",
        "license: cc-by-sa-4.0",
        "pretty_name: DSEC clips for EventGPT and Video-LLaVA (egpt-dsec)",
        "tags:",
        "- event-camera",
        "- dsec",
        "- eventgpt",
        "- video-llava",
        "configs:",
    ]
    for name, files in facts.configs.items():
        lines += [f'- config_name: "{name}"', "  data_files:"]
        lines += [f'  - split: {split}\n    path: "{path}"' for split, path in files]
    return [*lines, "---"]


def _table(facts: CardFacts) -> list[str]:
    head = ["split", "duration", "clips", "empty", "events", "seconds", *facts.kinds, "all"]
    rows = [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for s in facts.stats:
        sizes = [format_bytes(s.bytes.get(k, 0)) for k in facts.kinds]
        rows.append(
            f"| {s.split} | {s.duration} | {s.clips:,} | {s.empty:,} | {s.events:,} | "
            f"{s.seconds:,.1f} | "
            + " | ".join(sizes)
            + f" | {format_bytes(sum(s.bytes.values()))} |"
        )
    return rows


def _coordinates(options: dict[str, object]) -> list[str]:
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
        else f"- Frames: DSEC's rectified frames of the {side} frame camera, a different"
        "\n  camera: resized to 640x480 they do not lie under the events."
    )
    return [events, frames]


def dataset_card(facts: CardFacts) -> str:
    options = [f"| `{name}` | `{value}` |" for name, value in sorted(facts.options.items())]
    first = next(iter(facts.configs), "1s")
    lines = [
        *_yaml(facts),
        "",
        "# DSEC clips for EventGPT and Video-LLaVA",
        "",
        "Clips of the [DSEC](https://dsec.ifi.uzh.ch/) event-camera dataset, each as the",
        "clip's events (EventGPT `.npy`), event images, the camera frames of the clip, an",
        "H.264 MP4 and JSON conversations that EventGPT and Video-LLaVA train on unchanged.",
        "Built with egpt-dsec; clips of 50% overlapping windows per duration.",
        "",
        "## Loading it",
        "",
        "```python",
        "import datasets",
        f'clips = datasets.load_dataset("path/to/this/folder", "{first}")  # or "all"',
        "```",
        "",
        "Each duration folder holds `EventGPT_Instruction_Subset.json` (paths relative to",
        "the kind folders `event_npy/`, `event_image/`, `video/`, `mp4/`) and",
        "`videollava.json`; each split folder holds `dataset.json` and `videollava.json`",
        "covering all durations (paths relative to the split folder).",
        "",
        "## Coordinates",
        "",
        *_coordinates(facts.options),
        "",
        "## Statistics",
        "",
        *_table(facts),
        "",
        "## How it was built",
        "",
        f"egpt-dsec {facts.version}:",
        "",
        "```sh",
        facts.command or "egpt-dsec build ...",
        "```",
        "",
        "| option | value |",
        "|---|---|",
        *options,
        "",
        "## License and attribution",
        "",
        "This is a derived dataset of DSEC (Gehrig et al., RA-L 2021), licensed",
        "[CC BY-SA 4.0](https://creativecommons.org/licenses/by-sa/4.0/); so is this",
        "dataset. Cite DSEC when you use it:",
        "",
        "```bibtex",
        DSEC_CITATION,
        "```",
        "",
    ]
    return "\n".join(lines)
