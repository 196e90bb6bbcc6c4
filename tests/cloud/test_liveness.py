"""The liveness protocol subclass (transport.py) on a real uvicorn server over loopback.

A tiny Starlette app hands each socket's Liveness handle to the test through a queue; the
test then drives pings and closes and observes the client side.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect

from wsquake.cloud.transport import LIVENESS_EXTENSION, Liveness, make_protocol_class

CLOSE_TIMEOUT_S = 0.2
WAIT_S = 5.0


@dataclass
class Server:
    port: int
    handles: asyncio.Queue[tuple[Liveness, WebSocket]] = field(default_factory=asyncio.Queue)
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)


@contextlib.asynccontextmanager
async def liveness_server() -> AsyncIterator[Server]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    server_info = Server(port=sock.getsockname()[1])

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        handle = websocket.scope["extensions"][LIVENESS_EXTENSION]
        await server_info.handles.put((handle, websocket))
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
        server_info.disconnected.set()

    config = uvicorn.Config(
        Starlette(routes=[WebSocketRoute("/ws", endpoint)]),
        ws=make_protocol_class(CLOSE_TIMEOUT_S, time.monotonic),
        ws_ping_interval=None,
        ws_max_size=1024,
        lifespan="off",
        log_config=None,
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(server.serve(sockets=[sock]))
        try:
            async with asyncio.timeout(WAIT_S):
                while not server.started:  # noqa: ASYNC110 - uvicorn has only a flag
                    await asyncio.sleep(0.01)  # polling uvicorn's readiness flag only
            yield server_info
        finally:
            server.should_exit = True
            await task
            sock.close()


async def test_handle_is_published_in_scope_extensions() -> None:
    async with liveness_server() as srv, connect(f"ws://127.0.0.1:{srv.port}/ws"):
        async with asyncio.timeout(WAIT_S):
            handle, _ = await srv.handles.get()
        assert isinstance(handle, Liveness)
        assert handle.pongs_received == 0


async def test_ping_sends_a_ping_and_the_pong_is_recorded() -> None:
    async with liveness_server() as srv, connect(f"ws://127.0.0.1:{srv.port}/ws"):
        async with asyncio.timeout(WAIT_S):
            handle, _ = await srv.handles.get()
        before = handle.last_pong
        ponged = asyncio.Event()
        handle.on_pong = ponged.set
        assert handle.ping() is True
        async with asyncio.timeout(WAIT_S):
            await ponged.wait()
        assert handle.pongs_received == 1
        assert handle.last_pong >= before
        assert handle.pong_age() >= 0


async def test_ping_after_close_returns_false() -> None:
    async with liveness_server() as srv:
        async with connect(f"ws://127.0.0.1:{srv.port}/ws"):
            async with asyncio.timeout(WAIT_S):
                handle, websocket = await srv.handles.get()
        async with asyncio.timeout(WAIT_S):
            await srv.disconnected.wait()  # the server side has seen the client's close
        assert handle.ping() is False


async def _raw_upgrade(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    return reader, writer


async def test_silent_peer_is_dropped_after_the_close_handshake_timeout() -> None:
    async with liveness_server() as srv:
        reader, writer = await _raw_upgrade(srv.port)
        try:
            async with asyncio.timeout(WAIT_S):
                handle, websocket = await srv.handles.get()
            dropped = asyncio.Event()
            handle.on_drop = dropped.set
            started = time.monotonic()
            await websocket.close(1001, "Ping timeout - no pong received")
            # The raw client never answers the close frame: TCP must drop at ~CLOSE_TIMEOUT_S.
            async with asyncio.timeout(WAIT_S):
                await dropped.wait()
                while await reader.read(65536):
                    pass
            elapsed = time.monotonic() - started
            assert handle.dropped is True
            assert CLOSE_TIMEOUT_S * 0.9 <= elapsed < CLOSE_TIMEOUT_S + 2.0
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def test_peer_answering_the_close_is_not_dropped() -> None:
    async with liveness_server() as srv:
        async with connect(f"ws://127.0.0.1:{srv.port}/ws") as client:
            async with asyncio.timeout(WAIT_S):
                handle, websocket = await srv.handles.get()
            await websocket.close(1000, "bye")
            async with asyncio.timeout(WAIT_S):
                await client.wait_closed()
            assert client.close_code == 1000
        assert handle.dropped is False


@pytest.mark.parametrize("size", [10, 2048])
async def test_message_limit_is_enforced_with_1009(size: int) -> None:
    """uvicorn's ws_max_size (set from max_message_bytes) closes an oversize frame 1009."""
    async with liveness_server() as srv:
        async with connect(f"ws://127.0.0.1:{srv.port}/ws") as client:
            await client.send("x" * size)
            if size < 1024:
                await client.ping()  # round trip proves the socket is still open
                return
            async with asyncio.timeout(WAIT_S):
                await client.wait_closed()
            assert client.close_code == 1009
