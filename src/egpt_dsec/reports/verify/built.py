"""How each kind's files were built, from the record the build left beside the output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from egpt_dsec.config import EVENT_VIEW, BuildConfig
from egpt_dsec.config.record import recorded_config
from egpt_dsec.kinds import KINDS, Kind
from egpt_dsec.layout.state import StateLayout


@dataclass(frozen=True)
class Built:
    """The recorded config of every kind (an earlier build may have written a kind with
    other options than the last build)."""

    configs: dict[str, BuildConfig]

    @staticmethod
    def load(state: StateLayout) -> Built:
        return Built({kind.name: recorded_config(state, kind.name) for kind in KINDS})

    def of(self, kind: Kind) -> BuildConfig:
        return self.configs[kind.name]

    def options(self, kind: Kind) -> Any:
        """The kind's own options group as it was built."""
        return kind.options_of(self.of(kind))

    def event_view(self, kind: Kind) -> bool:
        """The kind's frames were warped into the event view."""
        return self.of(kind).frames_view == EVENT_VIEW
