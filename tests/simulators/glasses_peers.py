"""Misbehaving network peers for the glasses tests (real loopback sockets, port 0).

- :class:`ClosingServer` accepts every TCP connection and closes it at once, so every
  WebSocket handshake fails: a cloud that is down but whose port answers.
- :class:`Relay` forwards TCP to a target; :meth:`Relay.freeze` blackholes one
  connection (nothing forwarded either way, sockets kept open), like a dead link.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType


class ClosingServer:
    def __init__(self) -> None:
        self.accepted = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ClosingServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/glasses-ws"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


class Relay:
    """A TCP relay to ``target_port``; connection ``i`` (0-based) can be frozen."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.connections = 0
        self._frozen: set[int] = set()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tg = asyncio.TaskGroup()
        self._connected = asyncio.Event()

    async def __aenter__(self) -> Relay:
        await self._tg.__aenter__()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        await self._server.wait_closed()
        await self._tg.__aexit__(exc_type, exc, tb)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/glasses-ws"

    def freeze(self, index: int) -> None:
        self._frozen.add(index)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = self.connections
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [writer, up_writer]
        self._tg.create_task(self._pump(index, reader, up_writer))
        self._tg.create_task(self._pump(index, up_reader, writer))

    async def _pump(
        self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while data := await reader.read(65536):
                if index in self._frozen:
                    continue  # blackhole: read and drop, keep the socket open
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            if index not in self._frozen:
                writer.transport.abort()
