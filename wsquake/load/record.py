"""A small synchronous JSON-lines history appender for Locust processes.

The asyncio :class:`~wsquake.history.HistoryWriter` needs an event loop; Locust runs on
gevent, so its master appends the few events it records (recoveries, summaries) straight
to the file, one flushed line each. Events are built and validated by the same
:class:`~wsquake.history.NullHistory` recorder as everywhere else.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import IO

from wsquake.history import EventKind, HistoryEvent, NullHistory, Outcome, Scalar

__all__ = ["LineHistory"]


class LineHistory:
    """Append-only history file of one component, written line by line."""

    def __init__(self, path: str | Path, component: str) -> None:
        self.path = Path(path)
        self._events = NullHistory(component)
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self.written = 0

    @property
    def component(self) -> str:
        return self._events.component

    def open(self) -> LineHistory:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        return self

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def record(
        self,
        kind: EventKind,
        outcome: Outcome,
        /,
        *,
        client_id: str = "",
        session_id: str = "",
        conn: int = 0,
        **fields: Scalar,
    ) -> HistoryEvent:
        event = self._events.record(
            kind, outcome, client_id=client_id, session_id=session_id, conn=conn, **fields
        )
        with self._lock:
            if self._file is None:
                raise ValueError(f"history {self.path} is not open")
            self._file.write(event.to_json_line() + "\n")
            self._file.flush()
            self.written += 1
        return event
