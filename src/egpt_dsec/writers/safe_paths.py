"""Outputs stay inside OUT: a symlink planted in the output tree is refused, not written through.

Names are checked at discovery (``discover.check_safe_name``); this guards the other way out,
an existing folder or link under OUT that resolves somewhere else. Writing through it would
put clips, or ``remove_stale_temps`` deletions, into an unrelated folder.
"""

from __future__ import annotations

import os
from pathlib import Path


class UnsafeOutputPath(ValueError):
    """An output path that would resolve outside the output root."""

    def __init__(self, root: Path, path: Path, resolved: Path) -> None:
        self.root = root
        self.path = path
        self.resolved = resolved
        super().__init__(
            f"{path}: output path resolves to {resolved}, outside the output folder {root} "
            f"(a symlink in the output tree?). Remove the link or folder and re-run"
        )


def ensure_inside(root: Path, path: Path) -> None:
    """Raise :class:`UnsafeOutputPath` unless ``path``, with every symlink resolved, is in ``root``.

    ``path`` need not exist yet: its existing leading part is resolved, the rest is taken
    as written (``..`` in it is resolved too, so ``root/a/../../x`` is refused). ``root``
    itself may be a symlink (e.g. to a bigger disk); only what lies below it is judged.
    """
    real_root = Path(os.path.realpath(root))
    resolved = Path(os.path.realpath(path))
    if resolved != real_root and real_root not in resolved.parents:
        raise UnsafeOutputPath(root, path, resolved)
