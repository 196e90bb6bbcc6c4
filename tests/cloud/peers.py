"""Test-side peers of the reference cloud, all real and all on loopback.

- :class:`GlassesClient` — a glasses (phone) client on ``/glasses-ws`` with the JWT header.
- :class:`AppSocket` — a raw app socket on ``/app-ws`` driven by hand.
- :class:`AppServerPeer` — an app server (Starlette on uvicorn, 127.0.0.1:0) that records
  every webhook and, by default, answers ``session_request`` like the SDK's ``AppServer``:
  it opens an app socket, sends ``tpa_connection_init``, waits for the ack, sends its
  subscriptions and only then replies 200.
- :class:`SilentSocket` — a WebSocket client on the sans-I/O protocol that completes the
  handshake and then never answers a ping (for the health monitor tests).

Every peer records what it receives. Tests wait on what they expect with
``await peer.next_message(type=..., timeout=...)``: nothing here sleeps to synchronise.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import enum
import hashlib
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Response as HttpResponse
from websockets.uri import parse_uri

from wsquake.asgi_server import EmbeddedServer

logger = logging.getLogger(__name__)

Message = dict[str, Any]
Received = Message | bytes

# Default bound for one wait. Generous: the machine is shared by many test runs.
WAIT_S = 10.0


class PeerError(Exception):
    """A peer did not see what the test waited for."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------- tokens


def forged_token(email: str, *, secret: str = "not-the-cloud-secret-but-long-enough-0123") -> str:
    """An HS256 core token signed with the wrong secret."""
    payload: dict[str, Any] = {
        "sub": email, "email": email, "organizations": [], "defaultOrg": None
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def alg_none_token(email: str) -> str:
    """An unsigned (``alg: none``) token naming ``email``."""

    def b64(obj: dict[str, Any]) -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = {"alg": "none", "typ": "JWT"}
    payload: dict[str, Any] = {
        "sub": email, "email": email, "organizations": [], "defaultOrg": None
    }
    return f"{b64(header)}.{b64(payload)}."


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def free_port() -> int:
    """A port that was free a moment ago (for processes that cannot report theirs)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ----------------------------------------------------------------------- recording


def _matches(item: Received, type_: str | None, where: Callable[[Message], bool] | None) -> bool:
    if type_ == "binary":
        return isinstance(item, bytes)
    if isinstance(item, bytes):
        return type_ is None and where is None
    if type_ is not None and item.get("type") != type_:
        return False
    return where is None or where(item)


class Inbox:
    """Everything a peer received, in order, with awaitable look-ups.

    ``next(type)`` hands out each matching item once (a cursor per consumer call site is
    the item index); ``history`` keeps everything for assertions after the fact.
    """

    def __init__(self) -> None:
        self.history: list[Received] = []
        self._taken: set[int] = set()
        self._changed = asyncio.Condition()
        self.closed = False

    async def put(self, item: Received) -> None:
        async with self._changed:
            self.history.append(item)
            self._changed.notify_all()

    async def close(self) -> None:
        async with self._changed:
            self.closed = True
            self._changed.notify_all()

    def _find(
        self, type_: str | None, where: Callable[[Message], bool] | None, since: int
    ) -> int | None:
        for index, item in enumerate(self.history):
            if index >= since and index not in self._taken and _matches(item, type_, where):
                return index
        return None

    async def next(
        self,
        type_: str | None = None,
        *,
        where: Callable[[Message], bool] | None = None,
        timeout: float = WAIT_S,  # noqa: ASYNC109
        what: str = "",
        since: int = 0,
    ) -> Received:
        """The oldest not yet taken item matching ``type_``/``where``; waits for it.

        ``since`` skips items that arrived before that index of ``history``.
        """
        try:
            async with asyncio.timeout(timeout), self._changed:
                while True:
                    index = self._find(type_, where, since)
                    if index is not None:
                        self._taken.add(index)
                        return self.history[index]
                    if self.closed:
                        raise PeerError(
                            f"connection closed before a {type_ or 'message'} {what}arrived;"
                            f" received: {self.summary()}"
                        )
                    await self._changed.wait()
        except TimeoutError:
            raise PeerError(
                f"no {type_ or 'message'} {what}within {timeout:.2f} s; received: {self.summary()}"
            ) from None

    def all(self, type_: str | None = None) -> list[Received]:
        return [item for item in self.history if _matches(item, type_, None)]

    def summary(self, limit: int = 12) -> str:
        kinds = [
            f"binary[{len(item)}]" if isinstance(item, bytes) else str(item.get("type"))
            for item in self.history
        ]
        tail = kinds[-limit:]
        prefix = "…, " if len(kinds) > limit else ""
        return "[" + prefix + ", ".join(tail) + "]"


@dataclass(frozen=True, slots=True)
class CloseInfo:
    """How a WebSocket ended as seen by the peer. ``code`` None: no close frame came."""

    code: int | None
    reason: str


class WsPeer:
    """A websockets client connection whose reader task records into an :class:`Inbox`."""

    def __init__(self, ws: ClientConnection, name: str) -> None:
        self.ws = ws
        self.name = name
        self.inbox = Inbox()
        self._closed: asyncio.Future[CloseInfo] = asyncio.get_running_loop().create_future()

    async def run_reader(self) -> None:
        try:
            async for raw in self.ws:
                item: Received
                if isinstance(raw, bytes):
                    item = raw
                else:
                    try:
                        item = json.loads(raw)
                    except json.JSONDecodeError:
                        item = {"type": "__not_json__", "raw": raw}
                    if not isinstance(item, dict):
                        item = {"type": "__not_object__", "raw": raw}
                await self.inbox.put(item)
        except ConnectionClosed:
            pass
        finally:
            rcvd = self.ws.protocol.close_rcvd
            info = CloseInfo(rcvd.code, rcvd.reason) if rcvd is not None else CloseInfo(None, "")
            if not self._closed.done():
                self._closed.set_result(info)
            await self.inbox.close()

    async def next_message(
        self,
        type: str | None = None,  # noqa: A002 - mirrors the wire field
        *,
        where: Callable[[Message], bool] | None = None,
        timeout: float = WAIT_S,  # noqa: ASYNC109
        since: int = 0,
    ) -> Message:
        """The oldest message of ``type`` not yet handed out (from ``since`` = a ``mark()``)."""
        item = await self.inbox.next(
            type, where=where, timeout=timeout, what=f"for {self.name} ", since=since
        )
        assert isinstance(item, dict)
        return item

    def mark(self) -> int:
        """A position in the inbox: pass as ``since`` to look only at later messages."""
        return len(self.inbox.history)

    async def next_binary(self, *, timeout: float = WAIT_S) -> bytes:  # noqa: ASYNC109
        item = await self.inbox.next("binary", timeout=timeout, what=f"for {self.name} ")
        assert isinstance(item, bytes)
        return item

    async def expect_silence(
        self, type: str | None, window: float, *, where: Callable[[Message], bool] | None = None
    ) -> None:  # noqa: A002
        """Assert that no matching message arrives from now on within ``window`` seconds."""
        since = len(self.inbox.history)
        with contextlib.suppress(PeerError):
            item = await self.inbox.next(type, where=where, timeout=window, since=since)
            raise AssertionError(f"{self.name} got an unexpected {type or 'message'}: {item!r}")

    def received(self, type: str | None = None) -> list[Message]:  # noqa: A002
        return [item for item in self.inbox.all(type) if isinstance(item, dict)]

    async def wait_closed(self, timeout: float = WAIT_S) -> CloseInfo:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(self._closed)
        except TimeoutError:
            raise PeerError(
                f"{self.name} still open after {timeout:.2f} s; received: {self.inbox.summary()}"
            ) from None

    @property
    def is_closed(self) -> bool:
        return self._closed.done()

    async def send_json(self, message: Message) -> None:
        await self.ws.send(json.dumps(message))

    async def send_text(self, text: str) -> None:
        await self.ws.send(text)

    async def send_bytes(self, data: bytes) -> None:
        await self.ws.send(data)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.ws.close(code, reason)


async def open_ws(
    url: str, *, headers: dict[str, str] | None = None, max_size: int | None = 16 * 2**20
) -> ClientConnection:
    return await connect(
        url,
        additional_headers=headers,
        proxy=None,
        compression=None,
        ping_interval=None,
        open_timeout=WAIT_S,
        close_timeout=2,
        max_size=max_size,
        max_queue=None,
    )


# ------------------------------------------------------------------------ glasses


class GlassesClient(WsPeer):
    """A glasses client: ``connection_ack`` arrives on open (§3.2)."""

    def __init__(self, ws: ClientConnection, email: str) -> None:
        super().__init__(ws, f"glasses<{email}>")
        self.email = email

    async def send_event(self, type: str, **fields: Any) -> Message:  # noqa: A002
        message = {"type": type, **fields, "timestamp": now_iso()}
        await self.send_json(message)
        return message

    async def start_app(self, package_name: str) -> None:
        await self.send_event("start_app", packageName=package_name)

    async def stop_app(self, package_name: str) -> None:
        await self.send_event("stop_app", packageName=package_name)

    async def press_button(self, button_id: str = "main", press_type: str = "short") -> Message:
        return await self.send_event("button_press", buttonId=button_id, pressType=press_type)


# ---------------------------------------------------------------------- app socket


class AppSocket(WsPeer):
    """A raw app socket (``/app-ws``) driven by the test or by :class:`AppServerPeer`."""

    def __init__(self, ws: ClientConnection, name: str = "app") -> None:
        super().__init__(ws, name)
        self.session_id = ""
        self.package_name = ""

    async def send_init(self, session_id: str, package_name: str, api_key: str) -> None:
        self.session_id = session_id
        self.package_name = package_name
        self.name = f"app<{session_id}>"
        await self.send_json(
            {
                "type": "tpa_connection_init",
                "sessionId": session_id,
                "packageName": package_name,
                "apiKey": api_key,
                "timestamp": now_iso(),
            }
        )

    async def handshake(
        self, session_id: str, package_name: str, api_key: str, *, timeout: float = WAIT_S  # noqa: ASYNC109
    ) -> Message:
        """Send the init and return the ``tpa_connection_ack`` (raise on an error)."""
        await self.send_init(session_id, package_name, api_key)
        reply = await self.next_message(
            where=lambda m: m.get("type") in {"tpa_connection_ack", "tpa_connection_error"},
            timeout=timeout,
        )
        if reply["type"] != "tpa_connection_ack":
            raise PeerError(f"{self.name}: init refused: {reply}")
        return reply

    async def subscribe(self, streams: Sequence[str | Message]) -> None:
        await self.send_json(
            {
                "type": "subscription_update",
                "packageName": self.package_name,
                "sessionId": self.session_id,
                "subscriptions": list(streams),
                "timestamp": now_iso(),
            }
        )

    async def display(
        self,
        text: str,
        *,
        view: str = "main",
        duration_ms: int | None = None,
        layout: Message | None = None,
    ) -> Message:
        message: Message = {
            "type": "display_event",
            "packageName": self.package_name,
            "sessionId": "",  # as the SDK sends it (§6.1 routing)
            "view": view,
            "layout": layout if layout is not None else {"layoutType": "text_wall", "text": text},
            "timestamp": now_iso(),
        }
        if duration_ms is not None:
            message["durationMs"] = duration_ms
        await self.send_json(message)
        return message


# ----------------------------------------------------------------- app server peer


class WebhookMode(enum.Enum):
    """How :class:`AppServerPeer` answers a ``session_request``."""

    SDK = "sdk"  # connect, init, ack, subscribe, then 200 (500 if the connect fails)
    ACCEPT = "accept"  # 200 at once, no socket
    FAIL = "fail"  # 500 {"status":"error"}
    HOLD = "hold"  # wait for ``release`` (or the request to be dropped), then 200
    # wait for ``release``, then 500 "Failed to connect": the SDK's late reply once its
    # own handshake timed out (D12)
    HOLD_THEN_FAIL = "hold_then_fail"


@dataclass(slots=True)
class Webhook:
    """One recorded webhook request, with the time it arrived (loop clock)."""

    body: Message
    at: float
    status: int = 0
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def type(self) -> str:
        return str(self.body.get("type"))


class AppServerPeer:
    """A real app server on 127.0.0.1:0 recording webhooks; SDK-like by default.

    ``subscriptions`` is what each new app socket sends after its ack. ``mode`` (settable
    any time) chooses the reply to the next ``session_request``; ``stop_mode`` likewise
    for ``stop_request`` (``ACCEPT`` keeps the socket open so the test can see the
    cloud's ``app_stopped`` and close; ``SDK`` closes the socket first, as the SDK does).
    """

    def __init__(
        self,
        package_name: str,
        api_key: str,
        *,
        subscriptions: Sequence[str | Message] = ("button_press",),
        mode: WebhookMode = WebhookMode.SDK,
        stop_mode: WebhookMode = WebhookMode.ACCEPT,
    ) -> None:
        self.package_name = package_name
        self.api_key = api_key
        self.subscriptions = list(subscriptions)
        self.mode = mode
        self.stop_mode = stop_mode
        self.release = asyncio.Event()
        self.webhooks: list[Webhook] = []
        self._webhook_inbox = Inbox()
        self.sockets: list[AppSocket] = []
        self._socket_inbox: asyncio.Queue[AppSocket] = asyncio.Queue()
        self._tg: asyncio.TaskGroup | None = None
        self._stack = contextlib.AsyncExitStack()
        self._server: EmbeddedServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhook"

    async def __aenter__(self) -> AppServerPeer:
        app = Starlette(
            routes=[
                Route("/webhook", self._on_webhook, methods=["POST"]),
                Route("/health", self._on_health, methods=["GET"]),
            ]
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
            ws="none",
        )
        self._server = EmbeddedServer(config)
        try:
            self._tg = await self._stack.enter_async_context(asyncio.TaskGroup())
            self._stack.push_async_callback(self._shutdown)
            # Connections queue in the listen backlog until uvicorn accepts them: no need
            # to wait for "started".
            self._tg.create_task(self._server.serve(sockets=[sock]))
        except BaseException:
            sock.close()
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def _shutdown(self) -> None:
        self.release.set()
        for app_socket in self.sockets:
            if not app_socket.is_closed:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(3):
                        await app_socket.close()
        if self._server is not None:
            self._server.request_exit()

    # -- awaitables for tests

    async def next_webhook(
        self,
        type: str | None = None,  # noqa: A002
        *,
        where: Callable[[Message], bool] | None = None,
        timeout: float = WAIT_S,  # noqa: ASYNC109
    ) -> Webhook:
        """The oldest webhook of ``type`` not yet handed out (waits for it)."""
        body = await self._webhook_inbox.next(
            type, where=where, timeout=timeout, what=f"webhook for {self.package_name} "
        )
        assert isinstance(body, dict)
        return next(w for w in self.webhooks if w.body is body)

    async def expect_no_webhook(self, type: str | None, window: float) -> None:  # noqa: A002
        """Assert that no new webhook of ``type`` arrives within ``window`` seconds."""
        since = len(self._webhook_inbox.history)
        with contextlib.suppress(PeerError):
            body = await self._webhook_inbox.next(type, timeout=window, since=since)
            raise AssertionError(f"{self.package_name} got an unexpected webhook: {body!r}")

    async def next_socket(self, *, timeout: float = WAIT_S) -> AppSocket:  # noqa: ASYNC109
        """The next app socket this server opened (acked and subscribed) in SDK mode."""
        try:
            async with asyncio.timeout(timeout):
                return await self._socket_inbox.get()
        except TimeoutError:
            raise PeerError(
                f"{self.package_name}: no app socket connected within {timeout:.2f} s;"
                f" webhooks: {[(w.type, w.status) for w in self.webhooks]}"
            ) from None

    def webhook_count(self, type: str) -> int:  # noqa: A002
        return sum(1 for w in self.webhooks if w.type == type)

    # -- opening sockets (also used by tests to reconnect like the SDK)

    async def open_socket(self, ws_url: str, session_id: str) -> AppSocket:
        """Open an app socket, init, await the ack and subscribe; owned by this server."""
        assert self._tg is not None, "AppServerPeer not entered"
        app_socket = AppSocket(await open_ws(ws_url), name=f"app<{session_id}>")
        self.sockets.append(app_socket)
        self._tg.create_task(app_socket.run_reader())
        await app_socket.handshake(session_id, self.package_name, self.api_key, timeout=5)
        await app_socket.subscribe(self.subscriptions)
        return app_socket

    # -- HTTP handlers

    async def _on_health(self, request: Request) -> Response:
        live = sum(1 for s in self.sockets if not s.is_closed)
        return JSONResponse({"status": "healthy", "app": self.package_name, "activeSessions": live})

    async def _on_webhook(self, request: Request) -> Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return JSONResponse({"status": "error", "message": "not JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"status": "error", "message": "not an object"}, status_code=400)
        hook = Webhook(body=body, at=asyncio.get_running_loop().time())
        self.webhooks.append(hook)
        await self._webhook_inbox.put(body)
        try:
            status, reply = await self._answer(hook)
        except Exception as exc:  # a failed connect is the SDK's 500 "Failed to connect"
            logger.info("%s: webhook handling failed: %r", self.package_name, exc)
            status, reply = 500, {"status": "error", "message": "Failed to connect"}
        hook.status = status
        hook.answered.set()
        return JSONResponse(reply, status_code=status)

    async def _answer(self, hook: Webhook) -> tuple[int, Message]:
        ok = {"status": "success"}
        if hook.type == "session_request":
            mode = self.mode
        elif hook.type == "stop_request":
            mode = self.stop_mode
        else:
            return 400, {"status": "error", "message": "Unknown webhook request type"}
        if mode is WebhookMode.FAIL:
            return 500, {"status": "error", "message": "configured to fail"}
        if mode is WebhookMode.HOLD:
            await self.release.wait()
            return 200, ok
        if mode is WebhookMode.HOLD_THEN_FAIL:
            await self.release.wait()
            return 500, {"status": "error", "message": "Failed to connect"}
        if mode is WebhookMode.ACCEPT:
            return 200, ok
        # SDK behaviour
        session_id = str(hook.body.get("sessionId"))
        if hook.type == "stop_request":
            for app_socket in self.sockets:
                if app_socket.session_id == session_id and not app_socket.is_closed:
                    await app_socket.ws.close(code=1000)  # the SDK's disconnect()
            return 200, ok
        ws_url = hook.body.get("mentraOSWebsocketUrl") or hook.body.get("augmentOSWebsocketUrl")
        app_socket = await self.open_socket(str(ws_url), session_id)
        await self._socket_inbox.put(app_socket)
        return 200, ok


# ------------------------------------------------------------------ silent socket


class SilentSocket:
    """A WebSocket client that completes the handshake, then never sends a byte.

    Built on websockets' sans-I/O ``ClientProtocol`` over a plain asyncio stream, so it
    sees every frame the server sends (pings, close) and answers none of them.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self.protocol: ClientProtocol
        self.frames: list[tuple[float, Frame]] = []
        self.handshake: HttpResponse | None = None
        self.eof_at: float | None = None

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls, url: str, *, headers: dict[str, str] | None = None
    ) -> AsyncIterator[SilentSocket]:
        uri = parse_uri(url)
        reader, writer = await asyncio.open_connection(uri.host, uri.port)
        peer = cls(reader, writer)
        try:
            peer.protocol = ClientProtocol(uri, max_size=None)
            request = peer.protocol.connect()
            for key, value in (headers or {}).items():
                request.headers[key] = value
            peer.protocol.send_request(request)
            writer.write(b"".join(peer.protocol.data_to_send()))
            await writer.drain()
            async with asyncio.timeout(WAIT_S):
                while peer.handshake is None:
                    data = await reader.read(65536)
                    if not data:
                        raise PeerError("server closed during the handshake")
                    peer.protocol.receive_data(data)
                    for event in peer.protocol.events_received():
                        if isinstance(event, HttpResponse):
                            peer.handshake = event
                        elif isinstance(event, Frame):
                            peer.frames.append((asyncio.get_running_loop().time(), event))
            # From here on, whatever the protocol wants to send (pongs, close) is dropped.
            peer.protocol.data_to_send()
            yield peer
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def flush(self) -> None:
        """Write what the test queued on ``protocol`` (e.g. ``protocol.send_text``)."""
        self._writer.write(b"".join(self.protocol.data_to_send()))
        await self._writer.drain()

    async def read_until_close(self, timeout: float) -> tuple[Frame | None, float]:  # noqa: ASYNC109
        """Read frames until a close frame or EOF; return (close frame, loop time)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            while True:
                data = await self._reader.read(65536)
                now = loop.time()
                if not data:
                    self.eof_at = now
                    self.protocol.receive_eof()
                else:
                    self.protocol.receive_data(data)
                for event in self.protocol.events_received():
                    if isinstance(event, Frame):
                        self.frames.append((now, event))
                        if event.opcode is Opcode.CLOSE:
                            return event, now
                self.protocol.data_to_send()  # drop pongs and the close echo
                if not data:
                    return None, now

    def pings(self) -> list[float]:
        return [at for at, frame in self.frames if frame.opcode is Opcode.PING]


def close_payload(frame: Frame) -> tuple[int, str]:
    """Close code and reason from a close frame."""
    data = frame.data
    if len(data) < 2:
        return 1005, ""
    return int.from_bytes(data[:2], "big"), bytes(data[2:]).decode()


def streams_of(items: Iterable[Message]) -> list[str]:
    return [str(m.get("streamType")) for m in items]

