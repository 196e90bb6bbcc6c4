"""Recording history events: the append-only JSON-lines writer and its stand-ins.

Every recorder offers the same synchronous ``record(kind, outcome, *, client_id=...,
session_id=..., conn=..., **fields)`` that builds, validates and keeps a
:class:`HistoryEvent` without touching the disk:

- :class:`HistoryWriter` buffers events in memory and appends them to its file from a
  worker thread at least every ``flush_interval_s`` (and on close), so a killed process
  loses at most about the last interval. It is an async context manager that owns its
  flush task.
- :class:`MemoryHistory` keeps events in a list and lets a test ``await wait_for(pred)``.
- :class:`NullHistory` drops everything (code paths that don't record).

:class:`BoundHistory` is a per-client view that fills ``client_id``, ``session_id`` and
``conn`` (the connection epoch) for every event.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol, Self

from wsquake.history.events import EventKind, HistoryEvent, Outcome, Scalar
from wsquake.history.exceptions import HistoryClosedError, HistoryError

__all__ = [
    "BoundHistory",
    "Recorder",
    "History",
    "HistoryWriter",
    "MemoryHistory",
    "NullHistory",
]

logger = logging.getLogger(__name__)

Listener = Callable[[HistoryEvent], None]


class History(Protocol):
    """Anything events can be recorded into."""

    @property
    def component(self) -> str: ...

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
    ) -> HistoryEvent: ...


class Recorder:
    """The one way events are made: :meth:`record` builds and validates an event with the
    injected clock, notifies listeners, and hands it to :meth:`_keep`. Kinds of history
    differ only in :meth:`_keep` (and :meth:`_check_open`)."""

    def __init__(self, component: str, *, clock_ns: Callable[[], int] = time.time_ns) -> None:
        if not isinstance(component, str) or not component:
            raise HistoryError(f"component must be a non-empty string, got {component!r}")
        self._component = component
        self._clock_ns = clock_ns
        self._listeners: list[Listener] = []

    @property
    def component(self) -> str:
        return self._component

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for every event recorded; returns a remover."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def bind(self, client_id: str, session_id: str = "") -> BoundHistory:
        """A per-client view that fills client_id, session_id and conn."""
        return BoundHistory(self, client_id, session_id or client_id)

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
        """Build, validate and timestamp one event, notify listeners, then keep it."""
        self._check_open()
        event = self._make(kind, outcome, client_id, session_id, conn, fields)
        self._keep(event)
        return event

    def _check_open(self) -> None:
        """Raise if events cannot be recorded now (before anything is built)."""

    def _keep(self, event: HistoryEvent) -> None:
        """Store the event; the base keeps nothing."""

    def _make(
        self,
        kind: EventKind,
        outcome: Outcome,
        client_id: str,
        session_id: str,
        conn: int,
        fields: dict[str, Scalar],
    ) -> HistoryEvent:
        event = HistoryEvent(
            t=self._clock_ns(),
            component=self._component,
            kind=kind,
            outcome=outcome,
            client_id=client_id,
            session_id=session_id,
            conn=conn,
            fields=fields,
        )
        for listener in tuple(self._listeners):
            listener(event)
        return event


class NullHistory(Recorder):
    """Validates and returns events but keeps nothing."""

    def __init__(self, component: str = "null", **kwargs: Callable[[], int]) -> None:
        super().__init__(component, **kwargs)


class MemoryHistory(Recorder):
    """Keeps every event in :attr:`events`; ``await wait_for(pred)`` for tests."""

    def __init__(self, component: str = "memory", **kwargs: Callable[[], int]) -> None:
        super().__init__(component, **kwargs)
        self.events: list[HistoryEvent] = []
        self._waiters: list[tuple[Callable[[HistoryEvent], bool], asyncio.Future[HistoryEvent]]]
        self._waiters = []

    def _keep(self, event: HistoryEvent) -> None:
        self.append(event)

    def append(self, event: HistoryEvent) -> None:
        """Keep an event made elsewhere (wakes matching waiters)."""
        self.events.append(event)
        for pred, fut in tuple(self._waiters):
            if not fut.done() and pred(event):
                fut.set_result(event)

    def observe(self, recorder: Recorder) -> Callable[[], None]:
        """Mirror every event ``recorder`` records from now on (e.g. a HistoryWriter, so
        a test can ``wait_for`` what goes to the file); returns a remover."""
        return recorder.add_listener(self.append)

    def of(self, kind: EventKind, outcome: Outcome | None = None) -> list[HistoryEvent]:
        """The events of one kind (and outcome), in order."""
        return [
            e for e in self.events if e.kind is kind and (outcome is None or e.outcome is outcome)
        ]

    async def wait_for(
        self, pred: Callable[[HistoryEvent], bool], *, since: int = 0
    ) -> HistoryEvent:
        """The first event from index ``since`` on matching ``pred``; waits if none yet.

        Bound the wait with ``asyncio.timeout`` around the call.
        """
        for event in self.events[since:]:
            if pred(event):
                return event
        fut: asyncio.Future[HistoryEvent] = asyncio.get_running_loop().create_future()
        entry = (pred, fut)
        self._waiters.append(entry)
        try:
            return await fut
        finally:
            self._waiters.remove(entry)


class HistoryWriter(Recorder):
    """Append-only JSON-lines history file for one component.

    ``record()`` only appends to an in-memory buffer. The owned flush task writes the
    buffer from a worker thread when ``flush_interval_s`` has passed since the last
    flush (measured with the injected ``clock``), when ``max_buffered`` events are
    waiting, and on close.
    """

    def __init__(
        self,
        path: str | Path,
        component: str,
        *,
        clock_ns: Callable[[], int] = time.time_ns,
        clock: Callable[[], float] = time.monotonic,
        flush_interval_s: float = 1.0,
        max_buffered: int = 10_000,
    ) -> None:
        super().__init__(component, clock_ns=clock_ns)
        if not flush_interval_s > 0:
            raise HistoryError(f"flush_interval_s must be > 0, got {flush_interval_s!r}")
        if max_buffered < 1:
            raise HistoryError(f"max_buffered must be >= 1, got {max_buffered!r}")
        self.path = Path(path)
        self._clock = clock
        self._interval = flush_interval_s
        self._max_buffered = max_buffered
        self._buffer: list[str] = []
        self._lock = threading.Lock()  # guards the file between flush thread and close
        self._file: IO[str] | None = None
        self._open = False
        self._last_flush = 0.0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._written = asyncio.Event()
        self.flushes = 0
        self.events_written = 0

    # -- lifecycle ---------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = await asyncio.to_thread(self._open_file)
        self._wake = asyncio.Event()
        self._last_flush = self._clock()
        self._open = True
        self._task = asyncio.get_running_loop().create_task(
            self._flush_loop(), name=f"history-flush-{self.component}"
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the flush task, write what is buffered and close the file.

        The final write is synchronous (it runs at shutdown, also when the caller is
        being cancelled), so nothing buffered is lost.
        """
        if not self._open:
            return
        self._open = False
        task, self._task = self._task, None
        try:
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    current = asyncio.current_task()
                    if current is not None and current.cancelling():
                        raise
        finally:
            self._close_file()

    def _open_file(self) -> IO[str]:
        # A process killed mid-write leaves a partial last line: end it, so our first
        # line stays whole (the reader reports the partial one as truncated).
        needs_newline = False
        if self.path.exists() and self.path.stat().st_size > 0:
            with self.path.open("rb") as existing:
                existing.seek(-1, 2)
                needs_newline = existing.read(1) != b"\n"
        file = self.path.open("a", encoding="utf-8")
        if needs_newline:
            file.write("\n")
        return file

    def _close_file(self) -> None:
        with self._lock:
            self._write_buffer()
            if self._file is not None:
                self._file.close()
                self._file = None

    # -- recording ---------------------------------------------------------------

    def _check_open(self) -> None:
        if not self._open:
            raise HistoryClosedError(
                f"history writer {self.component!r} ({self.path}) is not open"
            )

    def _keep(self, event: HistoryEvent) -> None:
        self._buffer.append(event.to_json_line() + "\n")
        if (
            len(self._buffer) >= self._max_buffered
            or self._clock() - self._last_flush >= self._interval
        ):
            assert self._wake is not None
            self._wake.set()

    @property
    def buffered(self) -> int:
        """Events recorded but not yet written."""
        return len(self._buffer)

    @property
    def flush_due(self) -> bool:
        """True when the flush task has been woken and has not flushed yet."""
        return self._wake is not None and self._wake.is_set()

    async def flush(self) -> None:
        """Write the buffered events now (in a worker thread)."""
        await asyncio.to_thread(self._flush_sync)
        self._notify_written()

    async def wait_written(self, count: int) -> None:
        """Wait until at least ``count`` events are on disk (bound it with a timeout)."""
        while self.events_written < count:
            await self._written.wait()

    def _notify_written(self) -> None:
        written, self._written = self._written, asyncio.Event()
        written.set()

    # -- internals -----------------------------------------------------------------

    def _take(self) -> list[str]:
        lines, self._buffer = self._buffer, []
        return lines

    def _flush_sync(self) -> None:
        with self._lock:
            self._write_buffer()

    def _write_buffer(self) -> None:
        # Called with the lock held. list swap is atomic under the GIL, so record()
        # from the loop thread never loses a line.
        lines = self._take()
        self._last_flush = self._clock()
        if not lines or self._file is None:
            return
        self._file.write("".join(lines))
        self._file.flush()
        self.flushes += 1
        self.events_written += len(lines)

    async def _flush_loop(self) -> None:
        assert self._wake is not None
        while True:
            try:
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await asyncio.to_thread(self._flush_sync)
            except OSError:
                logger.exception("history %s: writing %s failed", self.component, self.path)
                raise
            self._notify_written()


class BoundHistory:
    """A per-client view of a recorder: fills client_id, session_id and conn.

    ``conn`` is the connection epoch: call :meth:`next_conn` for each new socket.
    """

    def __init__(self, history: History, client_id: str, session_id: str) -> None:
        self.history = history
        self.client_id = client_id
        self.session_id = session_id
        self.conn = 0

    def next_conn(self) -> int:
        """Start a new connection epoch and return it."""
        self.conn += 1
        return self.conn

    def record(
        self, kind: EventKind, outcome: Outcome, /, *, conn: int | None = None, **fields: Scalar
    ) -> HistoryEvent:
        """Record with this client's ids; ``conn`` defaults to the current epoch (pass an
        older epoch for events of an abandoned socket)."""
        return self.history.record(
            kind,
            outcome,
            client_id=self.client_id,
            session_id=self.session_id,
            conn=self.conn if conn is None else conn,
            **fields,
        )
