"""The cloud's socket protocol keeps reading while a few messages wait for the endpoint
(uvicorn stops after each one) and still applies back-pressure past
``MAX_QUEUED_MESSAGES``. A bare ASGI app on the real protocol class, real sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState
from websockets.asyncio.client import ClientConnection, connect

from wsquake.cloud.transport import MAX_QUEUED_MESSAGES, make_protocol_class

WAIT_S = 5.0


class HeldApp:
    """Accepts, then reads nothing until ``release`` is set; then collects every text."""

    def __init__(self) -> None:
        self.accepted = asyncio.Event()
        self.release = asyncio.Event()
        self.texts: list[str] = []
        self.done = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        self.accepted.set()
        await self.release.wait()
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                self.done.set()
                return
            self.texts.append(message["text"])


@pytest.fixture
async def held() -> AsyncIterator[tuple[HeldApp, ClientConnection]]:
    app = HeldApp()
    config = uvicorn.Config(app, lifespan="off", log_config=None, ws_ping_interval=None)
    config.load()
    state = ServerState()
    protocol = make_protocol_class(1.0, time.monotonic)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: protocol(config=config, server_state=state, app_state={}), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    try:
        async with connect(f"ws://127.0.0.1:{port}/", proxy=None, ping_interval=None) as ws:
            async with asyncio.timeout(WAIT_S):
                await app.accepted.wait()
            yield app, ws
            app.release.set()
    finally:
        server.close()
        for task in list(state.tasks):
            task.cancel()
        await server.wait_closed()


async def test_socket_still_reads_while_fewer_than_the_limit_wait(held) -> None:
    app, ws = held
    for i in range(MAX_QUEUED_MESSAGES - 2):
        await ws.send(f"m{i}")
    # The pong needs the server to read past the queued messages: with a pause after
    # each message (uvicorn's default) it would never come while the app holds.
    pong = await ws.ping()
    async with asyncio.timeout(WAIT_S):
        await pong


async def test_a_held_socket_delivers_every_message_in_order_once_drained(held) -> None:
    app, ws = held
    count = 4 * MAX_QUEUED_MESSAGES
    for i in range(count):
        await ws.send(f"m{i}-" + "x" * 4096)
    pong = await ws.ping()
    app.release.set()
    async with asyncio.timeout(WAIT_S):
        await pong
    await ws.close()
    async with asyncio.timeout(WAIT_S):
        await app.done.wait()
    assert [t.split("-")[0] for t in app.texts] == [f"m{i}" for i in range(count)]
