"""Errors of the load fleets (Locust users, ``wsquake load``).

Tree::

    LoadError                  base of the load-fleet errors
    ├── LoadConfigError        a bad load setting or CLI argument; names the key (ValueError)
    ├── LoadReportError        a malformed worker report reached the master; names the field
    └── LoadSampleFailure      a failed measurement as Locust records it (e.g. "no echo")
"""

from __future__ import annotations

__all__ = ["LoadConfigError", "LoadError", "LoadReportError", "LoadSampleFailure"]


class LoadError(Exception):
    """Base of the load-fleet errors."""


class LoadConfigError(LoadError, ValueError):
    """A bad load setting; ``key`` names it."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class LoadReportError(LoadError, ValueError):
    """A worker report the master cannot use; ``field`` names what was wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class LoadSampleFailure(LoadError):
    """A failed sample (connect refused, no echo before the timeout); Locust groups its
    failures table by this message."""
