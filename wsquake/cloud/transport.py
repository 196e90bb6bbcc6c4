"""Sockets: uvicorn's sans-I/O WebSocket protocol with liveness, and per-socket send queues.

ASGI has no ping API, so :func:`make_protocol_class` subclasses uvicorn's
``WebSocketsSansIOProtocol`` (the ``websockets`` library underneath): it records the time
of every PONG, can send a ping, drops TCP when a close handshake stalls for
``close_handshake_timeout_s``, and publishes a :class:`Liveness` handle in
``scope["extensions"]["wsquake.liveness"]`` so the cloud's health monitor can reach it.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.frames import Frame

__all__ = [
    "LIVENESS_EXTENSION",
    "Connection",
    "ConnKind",
    "Liveness",
    "make_protocol_class",
]

logger = logging.getLogger(__name__)

LIVENESS_EXTENSION = "wsquake.liveness"

#: Received messages queued for the endpoint before the socket stops reading (TCP
#: back-pressure). uvicorn pauses after every single message, which costs an epoll
#: unregister/register pair per message: 14 % of the cloud's CPU at 2,000 users.
MAX_QUEUED_MESSAGES = 32


class ConnKind(enum.Enum):
    GLASSES = "glasses"
    APP = "app"


class Liveness:
    """What the health monitor may see and do for one socket."""

    def __init__(self, proto: LivenessProtocolBase, clock: Callable[[], float]) -> None:
        self._proto = proto
        self._clock = clock
        self.opened_at = clock()
        self.last_pong = self.opened_at  # the handshake counts as a sign of life
        self.pings_sent = 0
        self.pongs_received = 0
        self.dropped = False  # TCP dropped because the close handshake stalled
        self.on_drop: Callable[[], None] | None = None
        self.on_pong: Callable[[], None] | None = None

    def record_pong(self) -> None:
        self.pongs_received += 1
        self.last_pong = self._clock()
        if self.on_pong is not None:
            self.on_pong()

    def pong_age(self) -> float:
        return self._clock() - self.last_pong

    def ping(self) -> bool:
        """Send one PING frame now; False if the socket is no longer open."""
        ok = self._proto.send_liveness_ping(os.urandom(4))
        if ok:
            self.pings_sent += 1
        return ok

    def abort(self) -> None:
        """Drop TCP without a closing handshake."""
        self._proto.drop_tcp()


class LivenessProtocolBase(WebSocketsSansIOProtocol):
    wsquake_close_timeout: float = 1.0
    wsquake_clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.close_timeout = self.wsquake_close_timeout
        self.liveness = Liveness(self, type(self).wsquake_clock)

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][LIVENESS_EXTENSION] = self.liveness

    def handle_pong(self, event: Frame) -> None:
        self.liveness.record_pong()
        super().handle_pong(event)

    def send_receive_event_to_app(self) -> None:
        # The base class pauses reading unless ``read_paused`` is already set; pretend it
        # is, then pause ourselves only at the high-water mark. ``receive()`` resumes once
        # the endpoint has drained the queue, as before.
        paused = self.read_paused
        self.read_paused = True
        try:
            super().send_receive_event_to_app()
        finally:
            self.read_paused = paused
        if not paused and self.queue.qsize() >= MAX_QUEUED_MESSAGES and self.transport:
            self.read_paused = True
            self.transport.pause_reading()

    def send_liveness_ping(self, payload: bytes) -> bool:
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.transport is None
            or self.transport.is_closing()
        ):
            return False
        try:
            self.conn.send_ping(payload)
        except InvalidState:
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True

    def drop_tcp(self) -> None:
        if self.transport is not None and not self.disconnected:
            self.liveness.dropped = True
            if self.liveness.on_drop is not None:
                self.liveness.on_drop()
            self.transport.abort()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message.get("type") == "websocket.http.response.body" and not message.get(
            "more_body", False
        ):
            # A denial response (401/404) completes the exchange; without this uvicorn
            # logs "returned without completing handshake" for every rejected upgrade.
            self.handshake_complete = True
        # uvicorn closes gracefully after close_timeout (transport.close waits for the
        # write buffer to drain, which a dead peer never does): abort instead.
        if self.close_timer is not None and message.get("type") == "websocket.close":
            self.close_timer.cancel()
            self.close_timer = self.loop.call_later(self.close_timeout, self.drop_tcp)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = None
        super().connection_lost(exc)


def make_protocol_class(
    close_handshake_timeout_s: float, clock: Callable[[], float]
) -> type[LivenessProtocolBase]:
    """A protocol class bound to one server's settings (uvicorn instantiates it)."""
    return type(
        "LivenessProtocol",
        (LivenessProtocolBase,),
        {
            "wsquake_close_timeout": close_handshake_timeout_s,
            "wsquake_clock": staticmethod(clock),
        },
    )


class _Close:
    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


_conn_ids = itertools.count(1)


class Connection:
    """One accepted socket: identity (``conn_id`` = connection epoch), bounded send queue.

    Sends never block the caller: they enqueue, and :meth:`run_writer` (a task owned by
    the endpoint's TaskGroup) writes in order. A full queue closes the socket 1008
    ``"Send queue overflow"`` (the peer is too slow). A close that has not completed
    within ``abort_after_s`` drops TCP (the writer may be stuck on a dead peer).
    """

    def __init__(
        self,
        ws: WebSocket,
        kind: ConnKind,
        liveness: Liveness | None,
        *,
        queue_size: int = 1024,
        clock: Callable[[], float],
        abort_after_s: float | None = None,
    ) -> None:
        self.ws = ws
        self.kind = kind
        self.conn_id = next(_conn_ids)
        self.liveness = liveness
        self.opened_at = clock()
        self._queue: asyncio.Queue[str | bytes | _Close] = asyncio.Queue(queue_size)
        self.closing = False  # the cloud asked to close it
        self.closed = asyncio.Event()  # the socket is gone (disconnect seen)
        self.close_code: int | None = None
        self.close_reason: str = ""
        self.overflowed = False
        self._abort_after_s = abort_after_s
        self._abort_timer: asyncio.TimerHandle | None = None
        self.user_id: str | None = None  # glasses: the user it is attached to
        self.binding: tuple[str, str] | None = None  # app: (user, package) after a valid init

    def __repr__(self) -> str:
        return f"<Connection {self.kind.value}#{self.conn_id}>"

    @property
    def is_open(self) -> bool:
        return not self.closing and not self.closed.is_set()

    def send_text(self, text: str) -> bool:
        return self._put(text)

    def send_bytes(self, data: bytes) -> bool:
        return self._put(data)

    def _put(self, item: str | bytes) -> bool:
        if not self.is_open:
            return False
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True
            logger.warning("%r: send queue full, closing", self)
            self.close(1008, "Send queue overflow")
            return False
        return True

    def close(self, code: int, reason: str = "") -> None:
        """Ask the writer to send a close frame after what is queued (idempotent)."""
        if self.closing or self.closed.is_set():
            return
        self.closing = True
        if self._abort_after_s is not None and self.liveness is not None:
            # If the writer is stuck behind a dead peer's full buffer, the close frame never
            # goes out: drop TCP instead once the close should long have completed.
            self._abort_timer = asyncio.get_running_loop().call_later(
                self._abort_after_s, self.liveness.abort
            )
        if self._queue.full():
            while not self._queue.empty():
                self._queue.get_nowait()
        self._queue.put_nowait(_Close(code, reason))

    def mark_closed(self, code: int | None, reason: str = "") -> None:
        if self._abort_timer is not None:
            self._abort_timer.cancel()
            self._abort_timer = None
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
        self.closed.set()
        # wake the writer
        if not self._queue.full():
            self._queue.put_nowait(_Close(-1, ""))

    async def run_writer(self) -> None:
        """Pump the queue into the socket until closed."""
        while True:
            item = await self._queue.get()
            if self.closed.is_set():
                return
            try:
                if isinstance(item, _Close):
                    if item.code >= 0:
                        await self.ws.close(item.code, item.reason)
                    return
                if isinstance(item, str):
                    await self.ws.send_text(item)
                else:
                    await self.ws.send_bytes(item)
            except (RuntimeError, OSError) as exc:  # peer gone / socket already closed
                logger.debug("%r: send failed: %s", self, exc)
                return
            except Exception as exc:  # uvicorn's ClientDisconnected and friends
                logger.debug("%r: send failed: %r", self, exc)
                return
