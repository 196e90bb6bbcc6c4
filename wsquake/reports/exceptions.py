"""Errors of the reports area.

::

    ReportError                 base: a report could not be built or written
    ├── RunDirError             not a run directory / unreadable or bad summary.json
    ├── BaselineError           a baseline or rules file is missing, unreadable or malformed
    └── JUnitSchemaError        the JUnit XML does not validate against the schema
"""

from __future__ import annotations

__all__ = ["BaselineError", "JUnitSchemaError", "ReportError", "RunDirError"]


class ReportError(Exception):
    """Base of every reports error."""


class RunDirError(ReportError):
    """The path is not a readable run directory (or its ``summary.json`` is malformed)."""


class BaselineError(ReportError):
    """A baseline or comparison-rules file is missing, unreadable or malformed."""


class JUnitSchemaError(ReportError):
    """The generated JUnit XML does not validate against ``schema/junit-10.xsd``."""
