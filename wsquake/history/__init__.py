"""The history of a run: typed events, the JSON-lines writer and the reader.

See ``docs/history.md`` for the schema table (kind -> outcomes -> fields).
"""

from wsquake.history.events import (
    COMMON_FIELDS,
    SCHEMA,
    EventKind,
    HistoryEvent,
    KindSpec,
    Outcome,
    Scalar,
)
from wsquake.history.exceptions import HistoryClosedError, HistoryError, HistoryFormatError
from wsquake.history.reader import HistoryLog, TruncatedLine, read_history, read_history_file
from wsquake.history.writer import (
    BoundHistory,
    History,
    HistoryWriter,
    MemoryHistory,
    NullHistory,
    Recorder,
)

__all__ = [
    "COMMON_FIELDS",
    "SCHEMA",
    "BoundHistory",
    "EventKind",
    "History",
    "Recorder",
    "HistoryClosedError",
    "HistoryError",
    "HistoryEvent",
    "HistoryFormatError",
    "HistoryLog",
    "HistoryWriter",
    "KindSpec",
    "MemoryHistory",
    "NullHistory",
    "Outcome",
    "Scalar",
    "TruncatedLine",
    "read_history",
    "read_history_file",
]
