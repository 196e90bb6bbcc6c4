"""The webhook POST client (``wsquake.cloud.http_post``) against raw asyncio servers on
loopback: what it sends, the replies it accepts, and the failures it names."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from wsquake.cloud.http_post import HttpPostError, post

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, await reader.readexactly(length)


class RawServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[tuple[bytes, bytes]] = []
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self.handler(reader, writer)
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        raw = RawServer(handler)
        server = await asyncio.start_server(raw._serve, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/webhook"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def test_post_sends_body_and_close_header_and_returns_status_and_body(serve) -> None:
    seen: list[tuple[bytes, bytes]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await _read_request(reader))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 20\r\n\r\n{\"status\":\"success\"}")
        await writer.drain()

    url = await serve(handler)
    async with asyncio.timeout(5):
        reply = await post(url, b'{"type":"session_request"}')
    assert (reply.status, reply.text) == (200, '{"status":"success"}')
    head, body = seen[0]
    assert head.startswith(b"POST /webhook HTTP/1.1\r\n")
    assert b"Connection: close" in head and b"Content-Type: application/json" in head
    assert body == b'{"type":"session_request"}'


async def test_post_reads_a_chunked_error_reply(serve) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 500 Internal Server Error\r\ntransfer-encoding: chunked\r\n\r\n"
                     b"6\r\nFailed\r\n0\r\n\r\n")
        await writer.drain()

    url = await serve(handler)
    async with asyncio.timeout(5):
        reply = await post(url, b"{}")
    assert (reply.status, reply.body) == (500, b"Failed")


async def test_post_reads_a_reply_delimited_by_close(serve) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n\r\nok")
        await writer.drain()

    url = await serve(handler)
    async with asyncio.timeout(5):
        reply = await post(url, b"{}")
    assert (reply.status, reply.body) == (200, b"ok")


async def test_post_names_a_peer_that_closes_before_replying(serve) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)

    url = await serve(handler)
    with pytest.raises(HttpPostError, match="webhook"):
        async with asyncio.timeout(5):
            await post(url, b"{}")


async def test_post_names_a_malformed_reply(serve) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()

    url = await serve(handler)
    with pytest.raises(HttpPostError):
        async with asyncio.timeout(5):
            await post(url, b"{}")


async def test_post_names_a_refused_connection() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(HttpPostError, match=f"connect to 127.0.0.1:{port} failed"):
        async with asyncio.timeout(5):
            await post(f"http://127.0.0.1:{port}/webhook", b"{}")


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/webhook", "http:///webhook", "not a url"])
async def test_post_rejects_a_url_that_is_not_http(url: str) -> None:
    with pytest.raises(HttpPostError, match="not an http"):
        await post(url, b"{}")


async def test_a_cancelled_post_leaves_no_open_connection(serve) -> None:
    connected = asyncio.Event()
    peer_eof = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        connected.set()
        await reader.read()  # returns when the client's side is gone
        peer_eof.set()

    url = await serve(handler)
    task = asyncio.create_task(post(url, b"{}"))
    async with asyncio.timeout(5):
        await connected.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await peer_eof.wait()
