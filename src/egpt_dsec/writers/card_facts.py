"""What the dataset card says, as plain values (``kinds.card`` gathers them,
``writers.card`` renders them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The Hub's task categories that fit both trainers' files:
# - video-text-to-text: a Video-LLaVA entry is an MP4 and a question, answered in text
#   (the Hub's task of video-language models, whose examples are video instruction sets);
# - image-text-to-text: an EventGPT entry is the clip's events (drawn as event images)
#   and a question, answered in text, as vision-language models are trained;
# - visual-question-answering: every entry is a question about what the clip shows and
#   its answer.
TASK_CATEGORIES = ("video-text-to-text", "image-text-to-text", "visual-question-answering")
DSEC_LICENSE = "cc-by-sa-4.0"
SYNTHETIC_LICENSE = "synthetic-test-data"  # license_name of a card with ``license: other``
EVENTGPT, VIDEOLLAVA = "EventGPT", "Video-LLaVA"


@dataclass(frozen=True)
class GroupStats:
    """One split and duration of the built dataset."""

    split: str
    duration: str
    clips: int  # windows with events (an entry each, until answers leave some out)
    empty: int  # windows without events (no files, no entry)
    no_frame: int  # clips with events but no camera frame inside the window
    no_mp4: int | None  # clips with events but no MP4 (None: the output has no MP4s)
    events: int  # events in the clips (each copy counted)
    seconds: float  # seconds of recording the clips cover
    bytes: dict[str, int] = field(default_factory=dict)  # kind -> bytes of its files


@dataclass(frozen=True)
class HfConfig:
    """One Hugging Face config: a trainer's file per split."""

    name: str
    trainer: str  # EVENTGPT or VIDEOLLAVA
    files: list[tuple[str, str]]  # [(split, path under OUT)]
    default: bool = False


@dataclass(frozen=True)
class AnswerGroup:
    """The answers of one split and duration (its provenance file)."""

    split: str
    duration: str
    counts: dict[str, Any]  # clips, answered, kept, filtered, filtered_by_reason, failed...
    sources: dict[str, int] = field(default_factory=dict)  # "online" / "batch" -> answers


@dataclass(frozen=True)
class AnswerFacts:
    """One answer set (settings key) and the groups it answered."""

    model: str
    key: str
    settings: dict[str, Any]
    select: str
    min_confidence: float
    questions: tuple[str, ...]  # the questions annotate asked
    prompt_template: str
    groups: list[AnswerGroup]


@dataclass(frozen=True)
class CardFacts:
    version: str
    command: str
    options: dict[str, Any]  # dotted option -> value (the recorded config)
    configs: list[HfConfig]
    stats: list[GroupStats]
    kinds: tuple[str, ...]  # the kinds whose bytes the statistics show
    clip_kinds: tuple[str, ...] = ()  # the per-clip kinds (folders the entries point into)
    entries: int = 0  # EventGPT entries over every split and duration (the "all" rows)
    split_bytes: dict[str, int] = field(default_factory=dict)  # split -> its combined files
    answers: list[AnswerFacts] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)  # label-qa's group summaries
    synthetic: bool = False  # made from egpt-dsec synth's test data, not DSEC
    synth_commands: tuple[str, ...] = ()  # the synth commands that made the input, if known

    @property
    def build_questions(self) -> tuple[str, ...]:
        return tuple(self.options.get("json.questions") or ())

    @property
    def title(self) -> str:
        if self.synthetic:
            return "Synthetic event-camera clips (egpt-dsec test data, not DSEC)"
        return "DSEC clips for EventGPT and Video-LLaVA"
