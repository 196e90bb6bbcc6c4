"""A small synchronous JSON-lines history appender for Locust processes.

The asyncio :class:`~wsquake.history.HistoryWriter` needs an event loop; Locust runs on
gevent, so its master appends the few events it records (recoveries, summaries) straight
to the file, one flushed line each. It is a
:class:`~wsquake.history.Recorder`, so events are built and validated as everywhere else.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import IO

from wsquake.history import HistoryEvent, Recorder

__all__ = ["LineHistory"]


class LineHistory(Recorder):
    """Append-only history file of one component, written line by line."""

    def __init__(self, path: str | Path, component: str) -> None:
        super().__init__(component)
        self.path = Path(path)
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self.written = 0

    def open(self) -> LineHistory:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        return self

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _check_open(self) -> None:
        if self._file is None:
            raise ValueError(f"history {self.path} is not open")

    def _keep(self, event: HistoryEvent) -> None:
        with self._lock:
            if self._file is None:
                raise ValueError(f"history {self.path} is not open")
            self._file.write(event.to_json_line() + "\n")
            self._file.flush()
            self.written += 1
