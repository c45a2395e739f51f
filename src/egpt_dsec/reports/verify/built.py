"""How each kind's files were built, from the record the build left beside the output."""

from __future__ import annotations

from dataclasses import dataclass

from egpt_dsec.config import BuildConfig
from egpt_dsec.kinds import KINDS, OutputKind
from egpt_dsec.layout.state import StateLayout
from egpt_dsec.state.options_record import recorded_config


@dataclass(frozen=True)
class Built:
    """The recorded config of every kind (an earlier build may have written a kind with
    other options than the last build)."""

    configs: dict[str, BuildConfig]

    @staticmethod
    def load(state: StateLayout) -> Built:
        return Built({kind.name: recorded_config(state, kind.name) for kind in KINDS})

    def of(self, kind: OutputKind) -> BuildConfig:
        return self.configs[kind.name]
