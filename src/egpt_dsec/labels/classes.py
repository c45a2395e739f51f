"""DSEC-Detection's object classes, by ``class_id``, and how the questions name them."""

from __future__ import annotations

CLASS_NAMES: tuple[str, ...] = (
    "pedestrian",
    "rider",
    "car",
    "bus",
    "truck",
    "bicycle",
    "motorcycle",
    "train",
)
PLURALS: dict[str, str] = {
    name: f"{name}es" if name == "bus" else f"{name}s" for name in CLASS_NAMES
}


def class_name(class_id: int) -> str:
    return CLASS_NAMES[class_id]


def counted(n: int, name: str) -> str:
    """``1 car``, ``3 buses``."""
    return f"{n} {name if n == 1 else PLURALS[name]}"
