"""The whole build: find and plan every sequence once, run one job per work unit, write
the JSON files."""

from egpt_dsec.pipeline.build import BuildReport, build, check_writable
from egpt_dsec.pipeline.preflight import preflight

__all__ = ["BuildReport", "build", "check_writable", "preflight"]
