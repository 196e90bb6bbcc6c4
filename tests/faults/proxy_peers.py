"""Loopback peers and helpers for the embedded proxy's own tests (port 0, no sleeps)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

from wsquake.faults.proxy import EmbeddedToxiproxy

IO_TIMEOUT = 5.0


@dataclass
class Peer:
    """A TCP server on 127.0.0.1:0 and what it saw."""

    server: asyncio.Server
    port: int
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = field(
        default_factory=asyncio.Queue
    )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def echo_server() -> AsyncIterator[Peer]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    try:
        yield Peer(server, server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def manual_server() -> AsyncIterator[Peer]:
    """Hands every accepted connection to the test through ``peer.accepted``."""
    writers: list[asyncio.StreamWriter] = []
    queue: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await queue.put((reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield Peer(server, server.sockets[0].getsockname()[1], queue)
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def embedded(**kwargs: object) -> AsyncIterator[tuple[EmbeddedToxiproxy, httpx.AsyncClient]]:
    async with EmbeddedToxiproxy(port=0, **kwargs) as server:  # type: ignore[arg-type]
        async with httpx.AsyncClient(base_url=server.url, timeout=IO_TIMEOUT) as client:
            yield server, client


async def create_proxy(client: httpx.AsyncClient, name: str, upstream: str) -> tuple[str, int]:
    response = await client.post(
        "/proxies", json={"name": name, "upstream": upstream, "listen": "127.0.0.1:0"}
    )
    assert response.status_code == 201, response.text
    host, port = response.json()["listen"].rsplit(":", 1)
    return host, int(port)


@contextlib.asynccontextmanager
async def connect(
    address: tuple[str, int],
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    async with asyncio.timeout(IO_TIMEOUT):
        reader, writer = await asyncio.open_connection(*address)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def read_exactly(reader: asyncio.StreamReader, n: int) -> bytes:
    async with asyncio.timeout(IO_TIMEOUT):
        return await reader.readexactly(n)


async def read_to_eof(reader: asyncio.StreamReader) -> bytes:
    async with asyncio.timeout(IO_TIMEOUT):
        return await reader.read()
