"""The events a pass hands to its clips: the source's, or (``--rectify-events``) the
events that survive rectification, with rectified coordinates.

A clip's npy is laid out, and its image parts split, from its event count before its
events stream by. Rectification drops events, so with it the kept events of every block
between clip boundaries are counted first, from x and y alone; each clip boundary then
has a position in the stream of kept events, as it has an index in ``events.h5``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from egpt_dsec.config import BuildConfig
from egpt_dsec.events import Events
from egpt_dsec.execute.report import JobStats
from egpt_dsec.render.rectify import RectifyTable, count_kept, rectify_run
from egpt_dsec.source.calibration import load_rectify_map
from egpt_dsec.source.discover import SequenceSource
from egpt_dsec.source.h5events import EventFile


@dataclass(frozen=True, eq=False)
class EventStream:
    events: EventFile
    rectify: RectifyTable | None = None

    @staticmethod
    def of(events: EventFile, source: SequenceSource, config: BuildConfig) -> EventStream:
        return EventStream(events, rectify_table(source, config))

    def read(self, start: int, stop: int) -> Events:
        """Source events [start, stop) as the clips get them."""
        events = self.events.read(start, stop)
        if self.rectify is None:
            return events
        return rectify_run(events, self.rectify)[0]

    def positions(self, index: dict[int, int], chunk: int, stats: JobStats) -> dict[int, int]:
        """For each boundary time of ``index`` (time -> source index), its position in
        the stream: the source index, or the kept events before it (from the first)."""
        if self.rectify is None:
            return dict(index)
        times = sorted(index)
        position = {times[0]: 0} if times else {}
        kept = 0
        with stats.timed("count_rectified"):
            for b0, b1 in itertools.pairwise(times):
                for s in range(index[b0], index[b1], chunk):
                    x, y = self.events.coordinates(s, min(s + chunk, index[b1]))
                    kept += count_kept(x, y, self.rectify)
                position[b1] = kept
        return position


def rectify_table(source: SequenceSource, config: BuildConfig) -> RectifyTable | None:
    """With ``--rectify-events``, the sequence's rectify map (an InputError if broken)."""
    if not config.rectify_events:
        return None
    return RectifyTable.from_map(load_rectify_map(source.folder, source.camera))
