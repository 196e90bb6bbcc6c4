"""Errors of the history package.

Tree::

    HistoryError                  base of every history error
    ├── HistoryFormatError        an event or a JSON line is malformed (names the field/line)
    │   (also a ValueError)
    └── HistoryClosedError        record() on a writer that is not open
"""

from __future__ import annotations

__all__ = ["HistoryClosedError", "HistoryError", "HistoryFormatError"]


class HistoryError(Exception):
    """Base of every history error."""


class HistoryFormatError(HistoryError, ValueError):
    """An event or a JSON line is malformed.

    ``field`` names the offending field ("" if the whole line is bad); ``where`` is a
    location such as ``path:line`` when read from a file.
    """

    def __init__(self, problem: str, *, field: str = "", where: str = "") -> None:
        self.problem = problem
        self.field = field
        self.where = where
        prefix = f"{where}: " if where else ""
        named = f"field {field!r}: " if field else ""
        super().__init__(f"{prefix}{named}{problem}")

    def at(self, where: str) -> HistoryFormatError:
        """The same error located at ``where`` (e.g. ``run/glasses-0.jsonl:12``)."""
        return HistoryFormatError(self.problem, field=self.field, where=where)


class HistoryClosedError(HistoryError):
    """An event was recorded on a writer that is not open (before enter or after close)."""
