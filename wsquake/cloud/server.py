"""The reference cloud server: Starlette routes on uvicorn (``websockets-sansio``), and
:class:`CloudServer`, the async context manager that owns everything it starts.

::

    async with CloudServer(settings) as cloud:   # port 0 -> a free port
        cloud.url, cloud.port, cloud.ws_url("/glasses-ws")
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from wsquake.asgi_server import EmbeddedServer
from wsquake.cloud.app_socket import AppSocketHandler
from wsquake.cloud.apps import AppManager
from wsquake.cloud.core import CloudCore
from wsquake.cloud.defects import active_defects
from wsquake.cloud.endpoints import SocketEndpoints
from wsquake.cloud.health import HealthMonitor
from wsquake.cloud.metrics import CONTENT_TYPE_LATEST, CloudMetrics
from wsquake.cloud.registration_api import RegistrationApi
from wsquake.cloud.relay import Relay
from wsquake.cloud.sessions import SessionManager
from wsquake.cloud.settings import CloudSettings
from wsquake.cloud.snapshot import refresh_gauges, sessions_snapshot
from wsquake.cloud.transport import (
    make_protocol_class,
)
from wsquake.cloud.webhooks import WebhookClient
from wsquake.protocol.codes import CloseCode

__all__ = ["CloudServer"]

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 10.0


class CloudServer:
    """One reference cloud. Not reusable: enter it once."""

    def __init__(
        self,
        settings: CloudSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._wall = wall
        self.metrics = CloudMetrics()
        self._sock: socket.socket | None = None
        self._server: EmbeddedServer | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._tg: asyncio.TaskGroup | None = None
        self.core: CloudCore | None = None
        self.port = 0
        self._background: list[asyncio.Task[None]] = []

    # --- addresses ---------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self.settings.host

    @property
    def url(self) -> str:
        return f"http://{self._url_host}:{self.port}"

    @property
    def _url_host(self) -> str:
        host = self.settings.host
        if host in ("0.0.0.0", ""):
            return "127.0.0.1"
        return f"[{host}]" if ":" in host else host

    def ws_url(self, path: str = "/glasses-ws") -> str:
        return f"ws://{self._url_host}:{self.port}{path}"

    # --- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> CloudServer:
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        try:
            await self._start(stack)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def _start(self, stack: contextlib.AsyncExitStack) -> None:
        family = socket.AF_INET6 if ":" in self.settings.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        stack.callback(sock.close)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.settings.host, self.settings.port))
        sock.listen(1024)
        sock.setblocking(False)
        self._sock = sock
        self.port = sock.getsockname()[1]

        webhooks = await stack.enter_async_context(
            WebhookClient(self.settings.timings, self.metrics, clock=self._clock)
        )
        # The TaskGroup is exited by a plain callback, so an exception raised in the
        # caller's ``async with`` body is not wrapped into an ExceptionGroup.
        tg = asyncio.TaskGroup()
        await tg.__aenter__()
        stack.push_async_callback(tg.__aexit__, None, None, None)
        self._tg = tg
        core = CloudCore(
            self.settings,
            metrics=self.metrics,
            webhooks=webhooks,
            task_group=tg,
            clock=self._clock,
            wall=self._wall,
        )
        core.app_ws_url = self.settings.app_ws_public_url or self.ws_url("/app-ws")
        self.core = core
        self.apps = AppManager(core)
        self.sessions = SessionManager(core, self.apps)
        self.relay = Relay(core, self.apps)
        self.app_handler = AppSocketHandler(core, self.apps, self.relay)
        self.health = HealthMonitor(core)
        self.endpoints = SocketEndpoints(
            core, self.apps, self.sessions, self.relay, self.app_handler, clock=self._clock
        )
        self.registration_api = RegistrationApi(core, self.apps)

        config = uvicorn.Config(
            self._build_app(),
            ws=make_protocol_class(
                self.settings.timings.scaled("close_handshake_timeout_s"), self._clock
            ),
            ws_ping_interval=None,
            ws_ping_timeout=None,
            ws_max_size=self.settings.max_message_bytes,
            ws_per_message_deflate=self.settings.per_message_deflate,
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        server = EmbeddedServer(config)
        self._server = server
        stack.push_async_callback(self._stop)
        self._serve_task = tg.create_task(self._serve(server, sock), name="uvicorn")
        self._background = [
            tg.create_task(self.health.run(), name="health-monitor"),
            tg.create_task(self.registration_api.sweep_forever(), name="registration-sweep"),
        ]
        await server.wait_started(self._serve_task, STARTUP_TIMEOUT_S)
        logger.info("cloud listening on %s", self.url)
        defects = active_defects(self.settings)
        if defects:
            logger.warning("known upstream defects ON: %s", ", ".join(defects))

    async def _serve(self, server: EmbeddedServer, sock: socket.socket) -> None:
        """uvicorn's serve, kept from cancelling the owner's task if it fails (a failing
        TaskGroup child cancels the task that entered the group)."""
        try:
            await server.serve(sockets=[sock])
        except (Exception, SystemExit) as exc:
            logger.error("uvicorn failed: %r", exc)

    async def _stop(self) -> None:
        core = self.core
        assert core is not None and self._server is not None
        core.closing = True
        self.sessions.shutdown()
        core.cancel_all_tasks()
        open_conns = list(core.connections)
        for conn in open_conns:
            conn.close(CloseCode.GOING_AWAY, "Server shutting down")
        # Let our close frames go out before uvicorn's own shutdown (which would send 1012).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(
                self.settings.timings.scaled("close_handshake_timeout_s") + 1.0
            ):
                for conn in open_conns:
                    await conn.closed.wait()
        self._server.request_exit()
        for task in self._background:
            task.cancel()
        try:
            await self._serve_task
        except Exception:
            logger.exception("uvicorn failed while stopping")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.__aexit__(exc_type, exc, tb)

    # --- ASGI app --------------------------------------------------------------------------

    def _build_app(self) -> Starlette:
        return Starlette(
            routes=[
                WebSocketRoute("/glasses-ws", self.endpoints.glasses_ws),
                WebSocketRoute("/app-ws", self.endpoints.app_ws),
                WebSocketRoute("/tpa-ws", self.endpoints.app_ws),
                Route("/health", self._health),
                Route("/metrics", self._metrics),
                Route("/api/sessions", self._sessions),
                Route("/api/tpa-server/register", self.registration_api.register,
                      methods=["POST"]),
                Route("/api/tpa-server/heartbeat", self.registration_api.heartbeat,
                      methods=["POST"]),
                Route("/api/tpa-server/restart", self.registration_api.restart,
                      methods=["POST"]),
                Route("/api/tpa-server/registrations", self.registration_api.registrations),
                Route("/api/public/permissions/{pkg:path}", self._permissions),
                WebSocketRoute("/{path:path}", self.endpoints.unknown_ws),
            ]
        )

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def _metrics(self, request: Request) -> Response:
        assert self.core is not None
        refresh_gauges(self.core)
        return Response(self.metrics.render(), headers={"content-type": CONTENT_TYPE_LATEST})

    async def _sessions(self, request: Request) -> Response:
        assert self.core is not None
        return JSONResponse(sessions_snapshot(self.core))

    async def _permissions(self, request: Request) -> Response:
        assert self.core is not None
        pkg = request.path_params["pkg"]
        entry = self.core.registry.get(pkg)
        if entry is None:
            return JSONResponse({"error": f"Package {pkg} not found"}, status_code=404)
        return JSONResponse(
            {
                "packageName": pkg,
                "permissions": [
                    {"type": p, "description": f"{p} permission"} for p in entry.permissions
                ],
            }
        )

