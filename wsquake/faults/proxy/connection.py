"""One proxied TCP connection: two sockets, two links, the dial and the teardown rules.

The client socket is accepted with reading paused; the upstream is dialled in the
connection's own task (owned by the server's TaskGroup); once connected the links are
built from the proxy's current toxics and the client is read. Teardown follows Toxiproxy
(``link.go``): when a link's output ends the destination is fully closed and the other
direction's source is treated as ended, so it drains what its toxics hold and closes its
own destination. With ``half_close`` a source EOF becomes ``shutdown(SHUT_WR)`` instead.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Coroutine
from typing import Any, Protocol

from wsquake.faults.proxy.addresses import AddressError, format_address, upstream_target
from wsquake.faults.proxy.link import PAUSE_DEST, Entry, Link, RngFactory

logger = logging.getLogger(__name__)

#: Upper bound for dialling the upstream address (Go uses the OS default).
DIAL_TIMEOUT = 10.0

_LINGER_RST = struct.pack("ii", 1, 0)


class Host(Protocol):
    """What a connection needs from its proxy."""

    name: str
    upstream: str
    half_close: bool
    ws_tracking: bool

    def entries(self, direction: str) -> list[Entry]: ...

    def rng_factory(self, serial: int, direction: str) -> RngFactory: ...

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]: ...

    def connection_started(self, conn: Connection) -> None: ...

    def connection_finished(self, conn: Connection) -> None: ...


class _Side(asyncio.Protocol):
    """One socket of the connection."""

    def __init__(self, conn: Connection, role: str) -> None:
        self.conn = conn
        self.role = role
        self.transport: asyncio.Transport | None = None
        self.reader: Link | None = None  # the link reading this socket
        self.writer: Link | None = None  # the link writing to this socket
        self.closed_by_us = False
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.conn.side_made(self)

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        if reader is not None:
            try:
                reader.feed(data)
            except Exception as exc:  # a broken stage must not wedge the connection
                self.conn.fail(reader, exc)

    def eof_received(self) -> bool:
        if self.reader is not None:
            try:
                self.reader.source_eof(not self.conn.host.half_close)
            except Exception as exc:
                self.conn.fail(self.reader, exc)
        return True  # we decide when to close

    def pause_writing(self) -> None:
        if self.writer is not None:
            self.writer.pause(PAUSE_DEST)

    def resume_writing(self) -> None:
        if self.writer is not None:
            self.writer.resume(PAUSE_DEST)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.conn.side_lost(self, exc)


class Connection:
    """A client connection accepted by a proxy. See the module docstring."""

    def __init__(self, host: Host, serial: int, loop: asyncio.AbstractEventLoop) -> None:
        self.host = host
        self.serial = serial
        self.loop = loop
        self.client = _Side(self, "client")
        self.server = _Side(self, "server")
        self.up = Link(self, "upstream", loop, host.rng_factory(serial, "upstream"),
                       ws_tracking=host.ws_tracking)
        self.down = Link(self, "downstream", loop, host.rng_factory(serial, "downstream"),
                         ws_tracking=host.ws_tracking)
        self.client.reader = self.server.writer = self.up
        self.server.reader = self.client.writer = self.down
        self.started_at = loop.time()
        self.started = False
        self.closed = False
        self.finished = False
        self.dial_task: asyncio.Task[None] | None = None
        self.armed = False

    def link(self, direction: str) -> Link:
        return self.up if direction == "upstream" else self.down

    # -- setup -----------------------------------------------------------------------------

    def side_made(self, side: _Side) -> None:
        transport = side.transport
        assert transport is not None
        if side is self.client:
            transport.pause_reading()
            self.dial_task = self.host.spawn(self._dial())
            return
        if self.closed:
            side.closed_by_us = True
            transport.close()
            return
        self._start()

    async def _dial(self) -> None:
        try:
            host, port = upstream_target(self.host.upstream)
            async with asyncio.timeout(DIAL_TIMEOUT):
                await self.loop.create_connection(lambda: self.server, host, port)
        except (OSError, TimeoutError, AddressError) as exc:
            logger.info(
                "proxy %s: upstream %s unreachable (%s); closing client",
                self.host.name,
                self.host.upstream,
                exc,
            )
            self.abort()
        except Exception as exc:  # never let one connection take the server's TaskGroup down
            self.fail(self.up, exc)

    def fail(self, link: Link, exc: Exception) -> None:
        """A stage or the pump raised: log it and close the connection."""
        logger.error(
            "proxy %s: connection %d (%s) failed; closing it",
            self.host.name,
            self.serial,
            link.direction,
            exc_info=exc,
        )
        self.abort()

    def _start(self) -> None:
        client, server = self.client.transport, self.server.transport
        assert client is not None and server is not None
        self.up.dest, self.down.dest = server, client
        up_entries = self.host.entries("upstream")
        down_entries = self.host.entries("downstream")
        if any(e.kind.arms_reset for e in up_entries + down_entries):
            self.arm_reset()
        self.started = True
        self.host.connection_started(self)
        now = self.loop.time()
        self.up.build(up_entries, now)
        self.down.build(down_entries, now)
        if not self.closed and self.up.pause_reasons == 0:
            client.resume_reading()

    def arm_reset(self) -> None:
        """``SO_LINGER 0`` on both sockets: any later close is an RST."""
        self.armed = True
        for side in (self.client, self.server):
            if side.transport is not None and not side.transport.is_closing():
                sock = side.transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)

    # -- link owner ------------------------------------------------------------------------

    def _source(self, link: Link) -> _Side:
        return self.client if link is self.up else self.server

    def _dest(self, link: Link) -> _Side:
        return self.server if link is self.up else self.client

    def pause_source(self, link: Link) -> None:
        transport = self._source(link).transport
        if transport is not None and not transport.is_closing():
            transport.pause_reading()

    def resume_source(self, link: Link) -> None:
        transport = self._source(link).transport
        if self.started and transport is not None and not transport.is_closing():
            transport.resume_reading()

    def output_ended(self, link: Link, full: bool) -> None:
        dest = self._dest(link)
        other = self.down if link is self.up else self.up
        if full or not self.host.half_close:
            self._close_side(dest)
            if not other.output_done:
                other.source_eof(True)
        else:
            transport = dest.transport
            if transport is not None and not transport.is_closing() and transport.can_write_eof():
                try:
                    transport.write_eof()
                except OSError:
                    self._close_side(dest)
        if self.up.output_done and self.down.output_done:
            self._close_side(self.client)
            self._close_side(self.server)
            self._finish()

    # -- teardown --------------------------------------------------------------------------

    def side_lost(self, side: _Side, exc: Exception | None) -> None:
        if side.writer is not None:
            side.writer.dest_dead = True
        if side.closed_by_us or self.closed:
            return
        if not self.started:
            self.abort()  # the client left while the upstream was being dialled
        elif side.reader is not None:
            side.reader.source_eof(True)

    def _close_side(self, side: _Side, *, hard: bool = False) -> None:
        side.closed_by_us = True
        transport = side.transport
        if transport is None or transport.is_closing():
            if hard and transport is not None:
                transport.abort()
            return
        if hard and transport.get_write_buffer_size():
            transport.abort()  # a peer that does not read must not keep the socket open
        else:
            transport.close()

    def abort(self) -> None:
        """Close both sockets now (disable, delete, failed dial); held bytes are dropped."""
        if self.closed:
            return
        self.closed = True
        task = self.dial_task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
        self.up.close()
        self.down.close()
        self._close_side(self.client, hard=True)
        self._close_side(self.server, hard=True)
        self._finish()

    def _finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        self.closed = True
        self.up.close()
        self.down.close()
        self.host.connection_finished(self)

    # -- inspection ------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        def peer(side: _Side) -> str | None:
            if side.transport is None:
                return None
            address = side.transport.get_extra_info("peername")
            return format_address(str(address[0]), int(address[1])) if address else None

        return {
            "client": peer(self.client),
            "upstream": peer(self.server) or self.host.upstream,
            "age_ms": int((self.loop.time() - self.started_at) * 1000),
            "toxics": {"upstream": self.up.describe(), "downstream": self.down.describe()},
        }
