"""Digests of every output file of a few option sets: the byte-identity check of a refactor.

Builds one synthetic DSEC root, then the dataset with each option set, through the
command line of whatever egpt-dsec is installed, and prints, per set, the number of
files and a digest per kind (and of all of them). Run it on the code before a change
and after, with the same ``--work`` folder (JSON entries of ``ref`` builds name paths
under it), and compare the tables:

    python benchmarks/output_digest.py --work /tmp/egpt-digest [--sets default,ref_red_legacy]

The dataset card (``OUT/README.md``) and the state folder are left out: the card names
the version and the command. A digest is the sha256 of the sorted ``path sha256`` lines.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

SETS: dict[str, list[str]] = {
    "default": [],
    "encode_gray_copy": [
        "--mp4-mode", "encode", "--event-image-style", "gray", "--frames", "copy",
        "--event-images", "3", "--video-size", "320x240",
    ],
    "ref_red_legacy": [
        "--event-format", "ref", "--event-image-style", "red", "--layout", "legacy",
        "--durations", "500ms,1s,4s",
    ],
    "aligned": ["--rectify-events", "--frames-view", "event", "--image-idx", "nearest-end"],
}  # fmt: skip
SYNTH = ["--sequences", "1", "--test-sequences", "1", "--seconds", "10", "--rate", "2e5",
         "--seed", "5", "--frame-size", "320x240"]  # fmt: skip
KIND_DIRS = ("event_npy", "event_image", "video", "mp4", "event_view_frames")


def egpt(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "egpt_dsec", *args], check=True, capture_output=True)


def file_digest(path: Path) -> str:
    if path.is_symlink():
        return "link:" + os.readlink(path)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def kind_of(rel: Path) -> str:
    found = [part for part in rel.parts if part in KIND_DIRS]
    return found[0] if found else "json"


def digests(out: Path) -> dict[str, tuple[int, str]]:
    """kind -> (files, digest), and "all"."""
    lines: dict[str, list[str]] = defaultdict(list)
    for here, dirs, files in os.walk(out):
        dirs[:] = sorted(d for d in dirs if d != ".egpt-dsec")
        for name in files:
            path = Path(here) / name
            rel = path.relative_to(out)
            if rel == Path("README.md"):
                continue
            line = f"{rel.as_posix()} {file_digest(path)}"
            lines[kind_of(rel)].append(line)
            lines["all"].append(line)
    return {
        kind: (len(found), hashlib.sha256("\n".join(sorted(found)).encode()).hexdigest()[:16])
        for kind, found in sorted(lines.items())
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/egpt-digest"))
    parser.add_argument("--sets", default=",".join(SETS))
    args = parser.parse_args()
    work: Path = args.work
    shutil.rmtree(work, ignore_errors=True)
    dsec = work / "dsec"
    egpt("synth", str(dsec), *SYNTH)
    print(f"{'set':<18} {'kind':<18} {'files':>6}  digest")
    for name in args.sets.split(","):
        out = work / name
        egpt("build", "--dsec-root", str(dsec), "--out", str(out), "--workers", "2", *SETS[name])
        for kind, (count, digest) in digests(out).items():
            print(f"{name:<18} {kind:<18} {count:>6}  {digest}")


if __name__ == "__main__":
    main()
