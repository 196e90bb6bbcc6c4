"""The extension toxics end to end: a real websockets client and server through the
embedded proxy on 127.0.0.1 (port 0), toxics added over HTTP with httpx.

Synchronisation: the echo handler answers in order, so after N messages and a sentinel
the client has seen every echo that will arrive once the sentinel's echo is back (data
order is kept by every toxic). No sleeps; every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from wsquake.faults.proxy import EmbeddedToxiproxy

IO_TIMEOUT = 5.0
SENTINEL = "sentinel"


@dataclass
class Rig:
    server: EmbeddedToxiproxy
    api: httpx.AsyncClient
    proxy_url: str  # ws:// address of the proxy's listener
    server_saw: list[str]

    async def add(self, type_: str, stream: str = "downstream", **attributes: Any) -> Any:
        body = {"type": type_, "stream": stream, "attributes": attributes}
        response = await self.api.post("/proxies/ws/toxics", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def connect(self) -> Any:
        return connect(
            self.proxy_url, compression=None, open_timeout=IO_TIMEOUT, close_timeout=IO_TIMEOUT
        )


async def _handler(ws: ServerConnection, seen: list[str]) -> None:
    try:
        async for message in ws:
            if isinstance(message, bytes):
                await ws.send(message)
                continue
            seen.append(message)
            if message == "fragmented":
                await ws.send(["frag-", "ment-", "ed"])  # three frames, one message
                await ws.ping(b"server-ping")
            else:
                await ws.send(message)
    except ConnectionClosed:
        pass


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with make_rig(seed=7) as made:
        yield made


@contextlib.asynccontextmanager
async def make_rig(seed: int | None) -> AsyncIterator[Rig]:
    seen: list[str] = []
    async with (
        EmbeddedToxiproxy(port=0, seed=seed) as proxy_server,
        serve(lambda ws: _handler(ws, seen), "127.0.0.1", 0, compression=None) as ws_server,
        httpx.AsyncClient(base_url=proxy_server.url, timeout=IO_TIMEOUT) as api,
    ):
        port = ws_server.sockets[0].getsockname()[1]
        created = await api.post(
            "/proxies",
            json={"name": "ws", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{port}"},
        )
        assert created.status_code == 201, created.text
        yield Rig(proxy_server, api, f"ws://{created.json()['listen']}/", seen)


async def exchange(ws: ClientConnection, messages: list[str]) -> list[str]:
    """Send ``messages`` then the sentinel; every echo received before the sentinel's."""
    for message in messages:
        await ws.send(message)
    await ws.send(SENTINEL)
    got: list[str] = []
    async with asyncio.timeout(IO_TIMEOUT):
        while (message := await ws.recv()) != SENTINEL:
            assert isinstance(message, str)
            got.append(message)
    return got


async def test_ws_drop_every_2_keeps_odd_echoes_and_pings_work(rig: Rig) -> None:
    await rig.add("x-ws-drop", every=2)
    async with rig.connect() as ws:
        got = await exchange(ws, [str(i) for i in range(1, 9)])  # the sentinel is 9th: kept
        async with asyncio.timeout(IO_TIMEOUT):
            await (await ws.ping())
    assert got == ["1", "3", "5", "7"]
    assert rig.server_saw[:8] == [str(i) for i in range(1, 9)]


async def test_ws_drop_type_upstream_drops_masked_matches_before_the_server(rig: Rig) -> None:
    await rig.add("x-ws-drop-type", stream="upstream", pattern="audio_.*")
    messages = [json.dumps({"type": t, "n": n}) for n, t in
                enumerate(["audio_chunk", "display_event", "audio_stop", "glasses_state"])]
    async with rig.connect() as ws:
        got = await exchange(ws, messages)
    assert [json.loads(m)["n"] for m in got] == [1, 3]
    assert [json.loads(m)["n"] for m in rig.server_saw if m != SENTINEL] == [1, 3]


async def test_ws_delay_delays_echoes_in_order_but_not_pings(rig: Rig) -> None:
    async with rig.connect() as ws:
        baseline = []
        for _ in range(3):
            start = time.monotonic()
            await exchange(ws, [])
            baseline.append(time.monotonic() - start)
        await rig.add("x-ws-delay", latency=300)
        start = time.monotonic()
        for i in range(3):
            await ws.send(f"d{i}")
        pong = await ws.ping()
        async with asyncio.timeout(IO_TIMEOUT):
            await pong  # comes back while the echoes are still held
            pong_at = time.monotonic() - start
            got = [await ws.recv() for _ in range(3)]
        echo_at = time.monotonic() - start
    assert got == ["d0", "d1", "d2"]
    base = sorted(baseline)[1]
    assert pong_at < echo_at
    assert 0.3 - 0.01 <= echo_at - base <= 1.5 * 0.3 + 0.15 + 0.5  # generous: shared CPU


async def test_ws_close_after_three_messages_sends_4001_chaos(rig: Rig) -> None:
    await rig.add("x-ws-close", code=4001, reason="chaos", after_messages=3,
                  tcp_close_after=200)
    async with rig.connect() as ws:
        for i in range(5):
            await ws.send(str(i))
        got: list[str] = []
        start = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(IO_TIMEOUT):
                while True:
                    message = await ws.recv()
                    assert isinstance(message, str)
                    got.append(message)
        async with asyncio.timeout(IO_TIMEOUT):
            await ws.wait_closed()
        elapsed = time.monotonic() - start
    assert got == ["0", "1", "2"]
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "chaos")
    assert elapsed <= 1.5


async def test_ws_close_code_0_cuts_tcp_and_the_client_sees_1006(rig: Rig) -> None:
    await rig.add("x-ws-close", code=0, after_messages=1)
    async with rig.connect() as ws:
        await ws.send("only")
        assert await asyncio.wait_for(ws.recv(), IO_TIMEOUT) == "only"
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(IO_TIMEOUT):
                await ws.recv()
    assert closed.value.rcvd is None
    assert ws.close_code == 1006


async def test_live_add_after_fragmented_message_and_ping_stays_aligned(rig: Rig) -> None:
    """X06: the server sends a 3-frame message and a ping, then the toxic is added."""
    async with rig.connect() as ws:
        await ws.send("fragmented")
        async with asyncio.timeout(IO_TIMEOUT):
            assert await ws.recv() == "frag-ment-ed"
        await exchange(ws, [])  # the server's ping went by as well
        await rig.add("x-ws-drop", every=2)
        got = await exchange(ws, [str(i) for i in range(1, 5)])  # the sentinel is 5th: kept
        async with asyncio.timeout(IO_TIMEOUT):
            await (await ws.ping())  # still a valid stream: no protocol error
    assert got == ["1", "3"]


async def test_plain_tcp_through_ws_toxics_is_byte_identical(rig: Rig) -> None:
    # A raw TCP echo peer behind a second proxy; the x-ws toxics see no WebSocket.
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        created = await rig.api.post(
            "/proxies", json={"name": "tcp", "listen": "127.0.0.1:0",
                              "upstream": f"127.0.0.1:{port}"})
        host, _, proxy_port = created.json()["listen"].rpartition(":")
        for stream in ("upstream", "downstream"):
            for type_, attributes in (("x-ws-drop", {}), ("x-ws-close", {}),
                                      ("x-ws-delay", {"latency": 10})):
                body = {"type": type_, "stream": stream, "attributes": attributes}
                added = await rig.api.post("/proxies/tcp/toxics", json=body)
                assert added.status_code == 200, added.text
        payload = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)) * 400
        reader, writer = await asyncio.open_connection(host, int(proxy_port))
        try:
            writer.write(payload)
            await writer.drain()
            async with asyncio.timeout(IO_TIMEOUT):
                echoed = await reader.readexactly(len(payload))
        finally:
            writer.close()
            await writer.wait_closed()
    assert echoed == payload


async def test_drop_chunk_probability_1_loses_bytes_but_keeps_the_link_open(rig: Rig) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        created = await rig.api.post(
            "/proxies", json={"name": "lossy", "listen": "127.0.0.1:0",
                              "upstream": f"127.0.0.1:{port}"})
        host, _, proxy_port = created.json()["listen"].rpartition(":")
        added = await rig.api.post("/proxies/lossy/toxics", json={
            "type": "x-drop-chunk", "name": "loss", "stream": "upstream",
            "attributes": {"probability": 1}})
        assert added.status_code == 200, added.text
        reader, writer = await asyncio.open_connection(host, int(proxy_port))
        try:
            writer.write(b"lost")
            await writer.drain()
            await proxy_received(rig, "lossy", 4)  # the stage has had "lost"
            patched = await rig.api.patch("/proxies/lossy/toxics/loss",
                                          json={"attributes": {"probability": 0}})
            assert patched.json()["attributes"] == {"probability": 0.0, "burst": 1}
            writer.write(b"kept")
            await writer.drain()
            async with asyncio.timeout(IO_TIMEOUT):
                assert await reader.readexactly(4) == b"kept"
        finally:
            writer.close()
            await writer.wait_closed()


async def proxy_received(rig: Rig, proxy: str, n: int) -> None:
    """Poll (deadline-bound) until the proxy has read ``n`` bytes from the client.

    The proxy exposes no event for "a chunk went through the chain", and an API call
    racing the socket read is no barrier, so this is a "within X" check (spec §5).
    """
    assert rig.server.collection is not None
    live = rig.server.collection.proxies[proxy].live
    async with asyncio.timeout(IO_TIMEOUT):
        while not any(conn.up.received >= n for conn in live):  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_bad_extension_attributes_get_400_bad_request_body(rig: Rig) -> None:
    cases = [
        ("x-ws-drop", {"probability": 1.5}),
        ("x-ws-drop", {"bogus": 1}),
        ("x-ws-close", {"code": 1006}),
        ("x-ws-delay", {"latency": 100.0}),
        ("x-ws-drop-type", {}),
    ]
    for type_, attributes in cases:
        response = await rig.api.post(
            "/proxies/ws/toxics", json={"type": type_, "attributes": attributes})
        assert response.status_code == 400, (type_, attributes, response.text)
        assert json.loads(response.text)["error"].startswith(f"bad request body: {type_}")


async def test_defaults_are_echoed_in_full(rig: Rig) -> None:
    toxic = await rig.add("x-ws-close")
    assert toxic["name"] == "x-ws-close_downstream"
    assert toxic["attributes"] == {
        "code": 1000, "reason": "", "after_messages": 0, "after_ms": 0, "tcp_close_after": 1000,
    }


async def test_ws_close_after_ms_fires_on_an_idle_connection(rig: Rig) -> None:
    async with rig.connect() as ws:
        await exchange(ws, ["warm-up"])
        start = time.monotonic()
        await rig.add("x-ws-close", code=1001, reason="idle", after_ms=300, tcp_close_after=100)
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(IO_TIMEOUT):
                await ws.recv()
        elapsed = time.monotonic() - start
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1001, "idle")
    assert 0.3 - 0.01 <= elapsed <= 1.5 * 0.3 + 0.15 + 0.5


async def _seeded_binary_drops(seed: int) -> list[int]:
    async with make_rig(seed) as rig, rig.connect() as ws:
        await rig.add("x-ws-drop", kind="binary", probability=0.5)
        for i in range(60):
            await ws.send(bytes([i]))
        await ws.send(SENTINEL)  # text: never dropped by a kind=binary toxic
        kept: list[int] = []
        async with asyncio.timeout(IO_TIMEOUT):
            while isinstance(message := await ws.recv(), bytes):
                kept.append(message[0])
        assert message == SENTINEL
        return kept


async def test_ws_drop_probability_is_reproducible_with_the_proxy_seed() -> None:
    first = await _seeded_binary_drops(1234)
    assert 12 <= 60 - len(first) <= 48
    assert first == sorted(first)
    assert await _seeded_binary_drops(1234) == first


async def test_toxic_that_starts_missed_acts_after_a_redraw_hits(rig: Rig) -> None:
    body = {"type": "x-ws-drop", "name": "late", "toxicity": 0.0,
            "attributes": {"kind": "binary"}}
    assert (await rig.api.post("/proxies/ws/toxics", json=body)).status_code == 200
    async with rig.connect() as ws:
        await exchange(ws, ["before"])
        patched = await rig.api.patch("/proxies/ws/toxics/late", json={"toxicity": 1.0})
        assert patched.status_code == 200, patched.text
        await ws.send(b"\x01")
        await ws.send(SENTINEL)
        async with asyncio.timeout(IO_TIMEOUT):
            first = await ws.recv()
    assert first == SENTINEL  # the binary message was dropped
