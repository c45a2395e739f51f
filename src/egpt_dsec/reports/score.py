"""``egpt-dsec score``: a model's predictions against the multiple-choice files of a build.

Predictions are JSON lines, ``{"id": ..., "answer": <option index>}`` each; the items are
every ``label_qa_mc.json`` of the output (``label-qa --multiple-choice``).
"""

from __future__ import annotations

import json
from pathlib import Path

from egpt_dsec.config.record import load_last_config
from egpt_dsec.durations import Duration
from egpt_dsec.labels.score import Item, Score, score
from egpt_dsec.layout.state import StateLayout


def load_items(out: Path) -> list[Item]:
    state = StateLayout(out)
    layout = load_last_config(state).output
    items = []
    for split in sorted({path.parent.name for path in state.plan_files()}):
        for folder in layout.duration_dirs(split):
            label = layout.locate(folder / "x").duration
            path = layout.label_mc_json(split, Duration.parse(label))
            if path.is_file():
                for entry in json.loads(path.read_text(encoding="utf-8")):
                    items.append(Item(entry["id"], split, label, entry["task"], entry["answer"]))
    return items


def load_predictions(path: Path) -> dict[str, int]:
    """id -> the index predicted; a line that is not such an object is an error."""
    found: dict[str, int] = {}
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                key, answer = row["id"], row["answer"]
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(
                    f'{path}:{n}: not a prediction ({exc}); write {{"id": ..., "answer": <index>}}'
                ) from None
            if not isinstance(answer, int) or isinstance(answer, bool):
                raise ValueError(f"{path}:{n}: answer {answer!r} is not an option index (0-3)")
            found[str(key)] = answer
    return found


def score_output(out: Path, predictions: Path) -> Score:
    items = load_items(out)
    if not items:
        raise ValueError(
            f"{out} holds no multiple-choice files: run egpt-dsec label-qa --out {out} "
            "--dsec-root DSEC --multiple-choice first"
        )
    guesses = load_predictions(predictions)
    result = score(items, guesses)
    if not result.total.items:
        raise ValueError(f"{predictions}: no prediction names an item of {out}")
    return result
