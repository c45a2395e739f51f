"""A clip's frame folder: links to the DSEC PNGs under their original names, not copies.

The replaced scripts copied 30-80 GB of frames per duration; a hard link costs one directory
entry and shares the bytes with the DSEC tree.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from egpt_dsec.fs import atomic_path

FRAME_MODES: tuple[str, ...] = ("hardlink", "copy", "symlink")

# errno values meaning "this file system (pair) cannot hard-link here": copy instead.
_LINK_UNSUPPORTED = frozenset(
    {errno.EXDEV, errno.EPERM, errno.EACCES, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}
)


def link_frames(sources: Sequence[Path], final_dir: Path, mode: str = "hardlink") -> None:
    """Make ``final_dir`` hold the clip's frames under their ORIGINAL names.

    ``mode`` is "hardlink" (default), "copy", or "symlink" (absolute target). A hard link that
    the file system refuses (another device, no link support, link limit) falls back to a copy.
    The folder is built as a temp sibling and renamed into place, so ``final_dir`` is never
    half-filled; an existing ``final_dir`` is replaced.
    """
    if mode not in FRAME_MODES:
        raise ValueError(f"frames mode must be one of {FRAME_MODES}, got {mode!r}")
    names = [src.name for src in sources]
    if len(set(names)) != len(names):
        raise ValueError(f"frame names repeat in the sources for {final_dir}")
    with atomic_path(final_dir) as tmp:
        tmp.mkdir()
        copy_only = mode == "copy"
        for src in sources:
            dst = tmp / src.name
            if mode == "symlink":
                os.symlink(os.path.abspath(src), dst)
            elif copy_only:
                shutil.copy2(src, dst)
            else:
                copy_only = not _try_hardlink(src, dst)


def _try_hardlink(src: Path, dst: Path) -> bool:
    """Hard-link ``src`` to ``dst``, or copy it if links are refused; True if linked.

    A refusal is a property of the file system pair, so the caller copies the rest directly
    instead of failing one system call per frame.
    """
    try:
        os.link(src, dst)
    except OSError as exc:
        if exc.errno not in _LINK_UNSUPPORTED:
            raise
        shutil.copy2(src, dst)
        return False
    return True
