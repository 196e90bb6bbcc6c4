"""One HTTP/1.1 POST per connection (``Connection: close``), parsed by h11.

Webhooks are posted the way the upstream cloud's axios does by default: a fresh TCP
connection per request, closed after the reply. This replaces httpx for webhooks because
httpcore's pool scans every pooled connection (``has_expired`` → anyio ``extra``) for
every request it assigns, which is quadratic in the number of webhooks in flight: during
a fleet ramp (100 users/s, each start waiting for the app's ack) it took a third of the
cloud's CPU, the start webhooks queued behind it past the 5 s start timeout, and the apps
of most users never started. Here each POST costs the same however many are in flight.

Timeouts are the caller's (``asyncio.timeout``); every failure that is not a reply is an
:class:`HttpPostError` naming what broke.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11

__all__ = ["HttpPostError", "HttpReply", "post"]

#: Largest reply body read; a webhook reply is a small JSON object.
MAX_REPLY_BYTES = 1 << 20
READ_CHUNK = 65536


class HttpPostError(Exception):
    """Connect, write, read or protocol failure (no complete HTTP reply)."""


@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def _target(url: str) -> tuple[str, int, bool, str, str]:
    """(host, port, tls, request target, Host header) of an http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpPostError(f"not an http(s) URL: {url!r}")
    tls = parts.scheme == "https"
    try:
        port = parts.port or (443 if tls else 80)
    except ValueError as exc:
        raise HttpPostError(f"bad port in {url!r}") from exc
    host = parts.hostname
    host_header = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        host_header = f"{host_header}:{parts.port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return host, port, tls, target, host_header


async def post(url: str, body: bytes, *, content_type: str = "application/json") -> HttpReply:
    """POST ``body`` to ``url`` on a new connection and return the reply."""
    host, port, tls, target, host_header = _target(url)
    conn = h11.Connection(our_role=h11.CLIENT, max_incomplete_event_size=MAX_REPLY_BYTES)
    request = h11.Request(
        method="POST",
        target=target,
        headers=[
            ("Host", host_header),
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            ("User-Agent", "wsquake-cloud"),
        ],
    )
    try:
        reader, writer = await asyncio.open_connection(
            host, port, ssl=ssl.create_default_context() if tls else None
        )
    except OSError as exc:
        raise HttpPostError(f"connect to {host}:{port} failed: {exc!r}") from exc
    ok = False
    try:
        writer.write(
            conn.send(request) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
        )
        await writer.drain()
        status = 0
        chunks: list[bytes] = []
        size = 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(READ_CHUNK))  # b"" = EOF
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > MAX_REPLY_BYTES:
                    raise HttpPostError(f"reply from {url} larger than {MAX_REPLY_BYTES} bytes")
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                ok = True
                return HttpReply(status, b"".join(chunks))
            elif isinstance(event, h11.ConnectionClosed):
                raise HttpPostError(f"{url} closed the connection before replying")
            # else InformationalResponse (1xx): keep reading
    except (OSError, h11.ProtocolError) as exc:
        raise HttpPostError(f"{url}: {exc!r}") from exc
    finally:
        if ok:
            writer.close()  # FIN after the reply; nothing to wait for
        else:
            writer.transport.abort()  # failed or cancelled (timeout): drop it now
