"""Load a clip's events as EventGPT's dict, from a ``.npy`` or from a compact JSON entry.

With ``--event-format ref`` the dataset stores no event copies: each JSON entry
names the source ``events.h5`` relative to the DSEC root and the clip's index range,
and this function reads them back into exactly the dict the ``.npy`` would hold.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from egpt_dsec.safe_npy import load_event_npy
from egpt_dsec.source.h5events import EventFile

DSEC_ROOT_VARIABLE = "DSEC_ROOT"


def load_clip_events(
    entry_or_path: Mapping[str, Any] | str | Path, dsec_root: str | Path | None = None
) -> dict[str, Any]:
    """EventGPT's event dict (p, t, x, y, then the metadata) for one clip.

    ``entry_or_path`` is a ``.npy`` path (loaded with the restricted unpickler)
    or a ``dataset.json`` entry with ``event_source``, whose events file is found under
    ``dsec_root`` (default: the ``DSEC_ROOT`` environment variable).
    """
    if isinstance(entry_or_path, (str, Path)):
        return load_event_npy(Path(entry_or_path))
    if "event_source" not in entry_or_path:
        raise ValueError(
            f"entry {entry_or_path.get('id')!r} has no event_source: it was built with "
            "--event-format npy, load its event_data .npy instead"
        )
    source = entry_or_path["event_source"]
    root = dsec_root if dsec_root is not None else os.environ.get(DSEC_ROOT_VARIABLE)
    if root is not None:
        path = Path(root) / source["relative_to_dsec_root"]
    elif "file" in source:  # entries of 0.2.0 named the file itself
        path = Path(source["file"])
    else:
        raise ValueError(
            f"entry {entry_or_path.get('id')!r} names its events relative to the DSEC root "
            f"({source['relative_to_dsec_root']}): pass dsec_root=... or set "
            f"{DSEC_ROOT_VARIABLE}"
        )
    with EventFile(path) as events:
        data: dict[str, Any] = events.read(int(source["start"]), int(source["stop"])).as_dict()
    frame_start, frame_stop = source["image_indices_in_clip"]
    data.update(
        time_start=int(entry_or_path["time_start"]),
        time_end=int(entry_or_path["time_end"]),
        duration_ms=int(source["duration_ms"]),
        image_timestamp=int(entry_or_path["time_end"]),
        image_idx=int(source["image_idx"]),
        image_indices_in_clip=list(range(frame_start, frame_stop)),
        num_events=int(source["stop"]) - int(source["start"]),
    )
    return data
