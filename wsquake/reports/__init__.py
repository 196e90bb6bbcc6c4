"""Reports: a run directory → pandas DataFrames (:mod:`.model`) → terminal, Markdown,
JUnit, CSV/Parquet, HTML; and run-to-run comparison (:mod:`.compare`).

Every report is built only from the :class:`~wsquake.reports.model.RunModel` frames (the
run's ``summary.json`` and each scenario's ``history.jsonl``), so any run can be
re-rendered later with ``wsquake report RUN_DIR``. Docs: ``docs/reports.md``.
"""

from __future__ import annotations

from wsquake.reports.exceptions import (
    BaselineError,
    JUnitSchemaError,
    ReportError,
    RunDirError,
)
from wsquake.reports.model import RunModel, load_run
from wsquake.reports.writer import ALL_FORMATS, parse_formats, write_reports

__all__ = [
    "ALL_FORMATS",
    "BaselineError",
    "JUnitSchemaError",
    "ReportError",
    "RunDirError",
    "RunModel",
    "load_run",
    "parse_formats",
    "write_reports",
]
