"""Every refusal of ``plan`` and ``build``, before anything is probed or written.

In order: the DSEC root is found; ``--out`` is not inside, equal to or around it; ``--out``
can be written; no other build holds its lock; and it is not a folder of someone else's
files. Each check only reads: the DSEC tree and a refused ``--out`` are left exactly as
they were (the plan's disk probe and the build's first write come after all of them).
"""

from __future__ import annotations

import os
from pathlib import Path

from egpt_dsec.config import BuildConfig
from egpt_dsec.errors import OutputError
from egpt_dsec.layout.output import is_probe_name
from egpt_dsec.layout.state import STATE_DIR, StateLayout
from egpt_dsec.source.discover import SequenceSource, discover_sequences
from egpt_dsec.state.lock import check_unlocked

# What a folder may hold and still count as empty: the notes a file manager leaves in any
# folder it shows (macOS, Windows, KDE), and the lost+found folder of a freshly made
# file system (an --out at the root of a new disk).
FOLDER_NOTES = frozenset({".DS_Store", ".localized", "Thumbs.db", "desktop.ini", ".directory"})
NEW_DISK_FOLDER = "lost+found"


def preflight(config: BuildConfig, foreign: bool = True) -> list[SequenceSource]:
    """The sequences to build, once every check has passed (each raises a one-line error
    naming the fix). ``foreign=False`` skips the check of someone else's files (``plan``
    without ``--out`` measures the current folder, which is rarely empty)."""
    sources = discover_sequences(config.dsec_root, config.splits, config.sequences, config.camera)
    check_apart(config.dsec_root, config.out)
    check_can_write(config.out)
    check_unlocked(StateLayout(config.out))
    if foreign:
        check_not_foreign(config.out)
    return sources


def check_apart(dsec_root: Path, out: Path) -> None:
    """The output never touches the source: refuse an --out inside, equal to or around the
    DSEC root (the build would write next to the sequences, or over them)."""
    root, target = Path(os.path.realpath(dsec_root)), Path(os.path.realpath(out))
    if target == root or root in target.parents:
        where = "is" if target == root else "is inside"
        raise OutputError(
            f"--out {out} {where} the DSEC root {dsec_root}: the build would write among "
            "the source sequences. Choose an --out outside the DSEC root."
        )
    if target in root.parents:
        raise OutputError(
            f"--out {out} holds the DSEC root {dsec_root}: the build would mix its folders "
            "with the source. Choose an --out beside the DSEC root, not above it."
        )


def check_can_write(out: Path) -> None:
    """``out`` is a folder, or can be made in the nearest folder above it that exists, and
    this user may write there (asked of the system: nothing is written to find out)."""
    folder = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    if not folder.is_dir():
        raise OutputError(
            f"cannot write to the output folder {out}: {folder} is a file, not a folder. "
            "Choose another --out."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot write to the output folder {out}: {folder} is not writable. "
            "Choose another --out or fix its permissions."
        )


def check_not_foreign(out: Path) -> None:
    """Refuse a folder that holds files but is no egpt-dsec output (it has no state folder):
    the build could overwrite or mix with them. An empty folder (see ``FOLDER_NOTES``), a
    new one, or an output of an earlier build (which is resumed) are accepted."""
    if not out.is_dir() or (out / STATE_DIR).is_dir():
        return
    found = sorted(name for name in os.listdir(out) if not _empty_anyway(out, name))
    if not found:
        return
    shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
    raise OutputError(
        f"--out {out} already holds files that are not an egpt-dsec output ({shown}; no "
        f"{STATE_DIR} folder): a build could overwrite them. Choose an empty or new folder "
        "for --out."
    )


def _empty_anyway(out: Path, name: str) -> bool:
    """A name that does not make a folder non-empty: file-manager notes, a new disk's
    lost+found, and a probe file of an egpt-dsec run that was killed."""
    if name in FOLDER_NOTES or is_probe_name(name):
        return True
    return name == NEW_DISK_FOLDER and (out / name).is_dir()
