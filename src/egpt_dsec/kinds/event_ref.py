"""``event_ref``: no copy of the events; each JSON entry points into the source instead.

``--event-format ref`` selects it in place of ``event_npy``. An entry's ``event_source``
names the sequence's ``events.h5`` relative to the DSEC root and the clip's index range
``[start, stop)``; ``egpt_dsec.load_clip_events(entry, dsec_root)`` reads back exactly the
dict the ``.npy`` would hold. Nothing is written per clip, so nothing is left to clean;
``verify --dsec-root`` checks each record's range against the source window.
"""

from __future__ import annotations

from typing import Any

from egpt_dsec.durations import Duration
from egpt_dsec.kinds.base import WINDOWS, ClipEntry, Kind, Place

EVENT_SOURCE_KEY = "event_source"


class EventRefKind(Kind):
    def entry_fields(self, entry: ClipEntry, place: Place, options: Any) -> dict[str, Any]:
        r = entry.record
        return {
            EVENT_SOURCE_KEY: {
                "relative_to_dsec_root": entry.events_file,
                "start": r.event_start,
                "stop": r.event_start + r.num_events,
                "duration_ms": Duration.parse(r.duration).ms,
                "image_idx": r.image_idx,
                "image_indices_in_clip": [r.frame_start, r.frame_stop],
            }
        }


EVENT_REF = EventRefKind(
    "event_ref",
    depends_on=(*WINDOWS, "image_idx"),
    checked_by="its index range is the source window (the record check, with --dsec-root)",
    default=False,
)
