"""Fixtures for the app-server simulator tests: real cloud, real app servers, real peers.

Timing: every test runs the protocol's timings scaled by ``SCALE`` (one protocol second
= ``SCALE`` wall seconds): the SDK's reconnect delays 1, 2, 4 s become 0.05, 0.1, 0.2 s,
the ack timeout 5 s becomes 0.25 s. Each timing test states its timeline.

:class:`AppHarness` owns everything a test starts and closes it in reverse order, also
on failure. :class:`ScriptedCloud` is a tiny WebSocket server on 127.0.0.1:0 whose
behaviour per connection a test scripts (ack or not, then close with a code, refuse, or
hang in the handshake), for the SDK policy tests that need a misbehaving peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tests.cloud.peers import GlassesClient, open_ws
from wsquake.cloud import AppEntry, CloudServer, CloudSettings, Timings, mint_token
from wsquake.cloud.settings import Defects
from wsquake.history import EventKind, HistoryEvent, MemoryHistory, Outcome
from wsquake.simulators.app_server import App, AppServer, AppServerSettings

SECRET = "wsquake-app-sim-test-secret-0123456789abcdef"
SCALE = 0.05
WAIT_S = 10.0


def units(n: float) -> float:
    """``n`` protocol seconds in wall seconds."""
    return n * SCALE


def key_for(package: str) -> str:
    return f"key-{package}"


class AppHarness:
    """Owns every cloud, app server and peer one test starts."""

    def __init__(self) -> None:
        self._stack = contextlib.AsyncExitStack()
        self.tg: asyncio.TaskGroup
        self.http: httpx.AsyncClient

    async def __aenter__(self) -> AppHarness:
        self.tg = await self._stack.enter_async_context(asyncio.TaskGroup())
        self.http = await self._stack.enter_async_context(
            httpx.AsyncClient(timeout=WAIT_S, trust_env=False)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def enter(self, cm: Any) -> Any:
        return await self._stack.enter_async_context(cm)

    async def app_server(
        self,
        package: str = "com.example.echo",
        *,
        app: App | None = None,
        history: MemoryHistory | None = None,
        **settings: Any,
    ) -> AppServer:
        settings.setdefault("time_scale", SCALE)
        settings.setdefault("subscriptions", ("button_press",))
        server = AppServer(
            AppServerSettings(package_name=package, api_key=key_for(package), **settings),
            app,
            history=history if history is not None else MemoryHistory(f"app:{package}"),
        )
        result: AppServer = await self.enter(server)
        return result

    async def cloud(
        self,
        *servers: AppServer,
        packages: tuple[str, ...] = (),
        defects: Defects | None = None,
        **timings: Any,
    ) -> CloudServer:
        """A cloud whose registry holds ``servers`` (public URL = their URL) and, for
        apps that register later, ``packages`` (public URL unreachable until then)."""
        timings.setdefault("boot_card_ms", 0)
        entries = [
            AppEntry(package_name=s.package_name, public_url=s.url, api_key=s.settings.api_key)
            for s in servers
        ]
        entries += [
            AppEntry(package_name=p, public_url="http://127.0.0.1:9", api_key=key_for(p))
            for p in packages
        ]
        settings = CloudSettings(
            host="127.0.0.1",
            port=0,
            jwt_secret=SECRET,
            timings=Timings(time_scale=SCALE, **timings),
            defects=defects if defects is not None else Defects(),
            apps=tuple(entries),
        )
        cloud: CloudServer = await self.enter(CloudServer(settings))
        return cloud

    async def glasses(self, cloud: CloudServer, email: str = "alice@example.com") -> GlassesClient:
        ws = await open_ws(
            cloud.ws_url("/glasses-ws"),
            headers={"Authorization": f"Bearer {mint_token(SECRET, email)}"},
        )
        client = GlassesClient(ws, email)
        self._stack.push_async_callback(_close_quietly, client)
        self.tg.create_task(client.run_reader())
        await client.next_message("connection_ack")
        return client

    async def scripted(self, script: Script) -> ScriptedCloud:
        result: ScriptedCloud = await self.enter(ScriptedCloud(script))
        return result


async def _close_quietly(client: GlassesClient) -> None:
    if client.is_closed:
        return
    with contextlib.suppress(Exception):
        async with asyncio.timeout(3):
            await client.close()


@pytest.fixture(name="h")
async def app_harness() -> AsyncIterator[AppHarness]:
    """The harness as fixture ``h``; import ``app_harness`` into a test module to use it."""
    async with AppHarness() as harness:
        yield harness


# ------------------------------------------------------------------ waiting on history


async def wait_event(
    history: MemoryHistory,
    kind: EventKind,
    outcome: Outcome | None = None,
    *,
    where: Callable[[HistoryEvent], bool] | None = None,
    since: int = 0,
    timeout: float = WAIT_S,  # noqa: ASYNC109
) -> HistoryEvent:
    """The first event of ``kind`` (and ``outcome``) from index ``since`` on."""

    def match(event: HistoryEvent) -> bool:
        return (
            event.kind is kind
            and (outcome is None or event.outcome is outcome)
            and (where is None or where(event))
        )

    try:
        async with asyncio.timeout(timeout):
            return await history.wait_for(match, since=since)
    except TimeoutError:
        seen = [f"{e.kind.value}/{e.outcome.value}" for e in history.events[since:]][-20:]
        raise AssertionError(
            f"no {kind.value}/{outcome.value if outcome else '*'} within {timeout} s; "
            f"last events: {seen}"
        ) from None


def events(history: MemoryHistory, kind: EventKind, outcome: Outcome | None = None,
           since: int = 0) -> list[HistoryEvent]:
    return [e for e in history.of(kind, outcome) if history.events.index(e) >= since]


# ------------------------------------------------------------------ scripted cloud


@dataclass(slots=True)
class Seen:
    """One connection the scripted cloud accepted."""

    index: int
    init: dict[str, Any] | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int | None = None
    at: float = 0.0


Script = Callable[[int, ServerConnection, "ScriptedCloud"], Awaitable[None]]
"""``script(index, ws, cloud)`` runs after the init arrived on connection ``index``."""


class ScriptedCloud:
    """A WebSocket server on 127.0.0.1:0 that reads the init and then runs ``script``.

    ``refuse()`` stops listening (connections are refused: the port stays bound but
    not listening); ``hang()`` accepts TCP and never answers the upgrade.
    """

    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen: list[Seen] = []
        self._new = asyncio.Condition()
        self._server: Server | None = None
        self.port = 0
        self._holder: socket.socket | None = None
        self._hang_sock: socket.socket | None = None
        self._hung: list[socket.socket] = []
        self._hang_task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/app-ws"

    async def __aenter__(self) -> ScriptedCloud:
        self._server = await serve(self._handler, "127.0.0.1", 0, ping_interval=None,
                                   close_timeout=1)
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._hang_task is not None:
            self._hang_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._hang_task
        for sock in [*self._hung, self._hang_sock, self._holder]:
            if sock is not None:
                sock.close()

    async def _handler(self, ws: ServerConnection) -> None:
        seen = Seen(len(self.seen), at=asyncio.get_running_loop().time())
        try:
            raw = await ws.recv()
            seen.init = json.loads(raw)
            async with self._new:
                self.seen.append(seen)
                self._new.notify_all()
            await self.script(seen.index, ws, self)
            async for raw in ws:
                seen.messages.append(json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            seen.close_code = ws.close_code
            seen.closed.set()

    async def connection(self, index: int, timeout: float = WAIT_S) -> Seen:  # noqa: ASYNC109
        """Wait for connection number ``index`` (0-based) to send its init."""
        async with asyncio.timeout(timeout), self._new:
            while len(self.seen) <= index:
                await self._new.wait()
        return self.seen[index]

    def _stop_listening(self) -> None:
        # Close only the listening sockets: a script calls this from inside a handler,
        # and waiting for the server to close would wait for that handler.
        assert self._server is not None
        self._server.server.close()

    async def refuse(self) -> None:
        """Stop listening; keep the port bound so new connections are refused."""
        self._stop_listening()
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", self.port))  # bound, not listening: RST on connect
        self._holder = holder

    async def hang(self) -> None:
        """Stop the WebSocket server and accept TCP on the same port without answering."""
        self._stop_listening()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(16)
        sock.setblocking(False)
        self._hang_sock = sock
        self._hang_task = asyncio.create_task(self._accept_forever(sock))

    async def _accept_forever(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            conn, _ = await loop.sock_accept(sock)
            self._hung.append(conn)  # never read, never answered


def ack(session_id: str) -> str:
    return json.dumps({"type": "tpa_connection_ack", "sessionId": session_id, "settings": [],
                       "mentraosSettings": {}, "timestamp": "2026-01-01T00:00:00.000Z"})


def free_refusing_port() -> tuple[socket.socket, int]:
    """A socket bound to a port but not listening: connecting to it is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock, int(sock.getsockname()[1])


async def until(
    probe: Callable[[], Awaitable[Any]],
    *,
    what: str = "condition",
    timeout: float = WAIT_S,  # noqa: ASYNC109
    every: float = 0.02,
) -> Any:
    """Poll an HTTP-side ``probe`` until it returns something truthy.

    Only for state that the cloud exposes solely through its HTTP API (registrations,
    ``/api/sessions``) and that has no push channel; everything else is awaited.
    """
    last: Any = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                last = await probe()
                if last:
                    return last
                await asyncio.sleep(every)
    except TimeoutError:
        raise AssertionError(f"{what} not reached within {timeout} s (last: {last!r})") from None
