"""The dataset card, ``OUT/README.md``: Hugging Face YAML, how to load it, statistics,
the answers and how they were made, how it was built, and the license of its source.

Pure: facts in, Markdown out; no time stamps and no path of the machine that built it,
so the same data gives the same bytes anywhere. The YAML follows the Hub's dataset card
metadata (https://huggingface.co/docs/hub/datasets-cards); the body's sections are in
``writers.card_sections``, the facts in ``writers.card_facts``.
"""

from __future__ import annotations

import json
import re

from egpt_dsec.writers.card_facts import (
    DSEC_LICENSE,
    SYNTHETIC_LICENSE,
    TASK_CATEGORIES,
    AnswerFacts,
    AnswerGroup,
    CardFacts,
    GroupStats,
    HfConfig,
)
from egpt_dsec.writers.card_sections import body

__all__ = ["AnswerFacts", "AnswerGroup", "CardFacts", "GroupStats", "HfConfig", "dataset_card"]

# The Hub's size buckets by example count: n<1K, 1K<n<10K, ..., 100B<n<1T, n>1T.
_SIZE_BUCKETS = ("1K", "10K", "100K", "1M", "10M", "100M", "1B", "10B", "100B", "1T")


def size_category(n: int) -> str:
    """The Hub's size bucket of ``n`` examples."""
    low = "n<"
    for bucket, limit in zip(_SIZE_BUCKETS, range(3, 3 + len(_SIZE_BUCKETS)), strict=True):
        if n < 10**limit:
            return f"{low}{bucket}"
        low = f"{bucket}<n<"
    return f"n>{_SIZE_BUCKETS[-1]}"


_PLAIN = re.compile(r"[a-z][a-z0-9_.-]*", re.IGNORECASE)
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def _q(value: str) -> str:
    """A YAML string: plain when it can only read as that string (``1s``, ``train``),
    else double-quoted (a JSON string is a valid YAML one)."""
    if _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS:
        return value
    return json.dumps(value, ensure_ascii=False)


def _items(name: str, values: list[str] | tuple[str, ...]) -> list[str]:
    return [f"{name}:", *(f"- {_q(v)}" for v in values)]


def _yaml(facts: CardFacts) -> list[str]:
    license_lines = (
        ["license: other", f"license_name: {_q(SYNTHETIC_LICENSE)}"]
        if facts.synthetic
        else [f"license: {_q(DSEC_LICENSE)}"]
    )
    source_tags = ["synthetic"] if facts.synthetic else ["dsec", "driving"]
    tags = ["event-camera", "neuromorphic", *source_tags, "eventgpt", "video-llava", "egpt-dsec"]
    annotations = "machine-generated" if facts.answers else "no-annotation"
    lines = [
        "---",
        f"pretty_name: {_q(facts.title)}",
        *license_lines,
        *_items("language", ["en"]),
        *_items("task_categories", TASK_CATEGORIES),
        *_items("size_categories", [size_category(facts.entries)]),
        *_items("annotations_creators", [annotations]),
        *_items("tags", tags),
    ]
    if facts.configs:
        lines.append("configs:")
    for config in facts.configs:
        lines.append(f"- config_name: {_q(config.name)}")
        if config.default:
            lines.append("  default: true")
        lines.append("  data_files:")
        for split, path in config.files:
            lines += [f"  - split: {_q(split)}", f"    path: {_q(path)}"]
    return [*lines, "---"]


def dataset_card(facts: CardFacts) -> str:
    return "\n".join([*_yaml(facts), "", *body(facts), ""])
