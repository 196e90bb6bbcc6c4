"""The reference cloud server: Starlette routes on uvicorn (``websockets-sansio``), and
:class:`CloudServer`, the async context manager that owns everything it starts.

::

    async with CloudServer(settings) as cloud:   # port 0 -> a free port
        cloud.url, cloud.port, cloud.ws_url("/glasses-ws")
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from wsquake.cloud import wire
from wsquake.cloud.app_socket import AppSocketHandler
from wsquake.cloud.apps import AppManager
from wsquake.cloud.auth import extract_token, verify_token
from wsquake.cloud.core import CloudCore
from wsquake.cloud.exceptions import AuthError, RegistrationError, WebhookError
from wsquake.cloud.health import HealthMonitor
from wsquake.cloud.metrics import CONTENT_TYPE_LATEST, CloudMetrics
from wsquake.cloud.registrations import parse_id_body, parse_register_body
from wsquake.cloud.relay import Relay
from wsquake.cloud.sessions import SessionManager
from wsquake.cloud.settings import CloudSettings
from wsquake.cloud.snapshot import refresh_gauges, sessions_snapshot
from wsquake.cloud.transport import (
    LIVENESS_EXTENSION,
    Connection,
    ConnKind,
    Liveness,
    make_protocol_class,
)
from wsquake.cloud.webhooks import WebhookClient
from wsquake.protocol.codes import CloseCode, TpaErrorCode

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
        self._server: uvicorn.Server | None = None
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

        config = uvicorn.Config(
            self._build_app(),
            ws=make_protocol_class(
                self.settings.timings.scaled("close_handshake_timeout_s"), self._clock
            ),
            ws_ping_interval=None,
            ws_ping_timeout=None,
            ws_max_size=self.settings.max_message_bytes,
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config)
        server.capture_signals = contextlib.nullcontext  # type: ignore[assignment,method-assign]
        self._server = server
        stack.push_async_callback(self._stop)
        self._serve_task = tg.create_task(self._serve(server, sock), name="uvicorn")
        self._background = [
            tg.create_task(self.health.run(), name="health-monitor"),
            tg.create_task(self._sweep_registrations(), name="registration-sweep"),
        ]
        async with asyncio.timeout(STARTUP_TIMEOUT_S):
            while not server.started:
                if self._serve_task.done():
                    raise RuntimeError("uvicorn stopped during startup")
                await asyncio.sleep(0.005)
        logger.info("cloud listening on %s", self.url)

    async def _serve(self, server: uvicorn.Server, sock: socket.socket) -> None:
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
        self._server.should_exit = True
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

    async def _sweep_registrations(self) -> None:
        assert self.core is not None
        interval = self.settings.timings.scaled("registration_sweep_s")
        if interval <= 0:
            return
        while True:
            await asyncio.sleep(interval)
            stale = self.core.registrations.sweep(  # pure, cannot raise
                self.settings.timings.scaled("registration_stale_s")
            )
            for reg in stale:
                logger.info("registration %s (%s) is stale", reg.registration_id, reg.package_name)
            if not self.settings.send_registration_webhooks:
                continue
            for reg in self.core.registrations.all():
                if reg.is_active:
                    body = wire.server_heartbeat(reg.registration_id)
                    self.core.spawn(self._notify_server(reg.webhook_url, body), "heartbeat")

    # --- ASGI app --------------------------------------------------------------------------

    def _build_app(self) -> Starlette:
        return Starlette(
            routes=[
                WebSocketRoute("/glasses-ws", self._glasses_ws),
                WebSocketRoute("/app-ws", self._app_ws),
                WebSocketRoute("/tpa-ws", self._app_ws),
                Route("/health", self._health),
                Route("/metrics", self._metrics),
                Route("/api/sessions", self._sessions),
                Route("/api/tpa-server/register", self._register, methods=["POST"]),
                Route("/api/tpa-server/heartbeat", self._heartbeat, methods=["POST"]),
                Route("/api/tpa-server/restart", self._restart, methods=["POST"]),
                Route("/api/tpa-server/registrations", self._registrations),
                Route("/api/public/permissions/{pkg:path}", self._permissions),
                WebSocketRoute("/{path:path}", self._unknown_ws),
            ]
        )

    async def _unknown_ws(self, websocket: WebSocket) -> None:
        self.metrics.bad_frames.labels(kind="upgrade", reason="unknown_path").inc()
        await websocket.send_denial_response(Response(status_code=404))

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

    # --- registration routes (§7.3) ------------------------------------------------------------

    async def _json_body(self, request: Request) -> Any:
        raw = await request.body()
        try:
            return json.loads(raw) if raw else None
        except ValueError as exc:
            raise RegistrationError(400, f"Request body is not valid JSON: {exc}") from exc

    def _reg_error(self, route: str, exc: RegistrationError) -> Response:
        self.metrics.http_bad_requests.labels(route=route, status=str(exc.status)).inc()
        return JSONResponse({"success": False, "error": exc.error}, status_code=exc.status)

    async def _register(self, request: Request) -> Response:
        core = self.core
        assert core is not None
        try:
            req = parse_register_body(await self._json_body(request))
            entry = core.registry.get(req.package_name)
            if entry is None or not core.registry.api_key_matches(entry, req.api_key):
                raise RegistrationError(401, "Invalid API key for package " + req.package_name)
        except RegistrationError as exc:
            return self._reg_error("register", exc)
        reg, previous = core.registrations.register(req)
        if self.settings.send_registration_webhooks:
            body = wire.server_registration(
                reg.registration_id, reg.package_name, list(reg.server_urls)
            )
            core.spawn(self._notify_server(reg.webhook_url, body), "server_registration")
        if previous is not None and self.settings.recover_on_reregister:
            core.spawn(self._recover_quietly(reg.registration_id), f"recover:{reg.registration_id}")
        return JSONResponse({"success": True, "registrationId": reg.registration_id},
                            status_code=201)

    async def _heartbeat(self, request: Request) -> Response:
        assert self.core is not None
        try:
            self.core.registrations.heartbeat(parse_id_body(await self._json_body(request)))
        except RegistrationError as exc:
            return self._reg_error("heartbeat", exc)
        return JSONResponse({"success": True})

    async def _restart(self, request: Request) -> Response:
        assert self.core is not None
        try:
            reg_id = parse_id_body(await self._json_body(request))
            self.core.registrations.get(reg_id)
        except RegistrationError as exc:
            return self._reg_error("restart", exc)
        recovered = await self._recover(reg_id)
        return JSONResponse({"success": True, "recoveredSessions": recovered})

    async def _recover(self, registration_id: str) -> int:
        assert self.core is not None
        reg = self.core.registrations.get(registration_id)
        ws_url = reg.server_urls[0] if reg.server_urls else None
        results: list[asyncio.Task[bool]] = []
        async with asyncio.TaskGroup() as tg:
            for session_id in list(reg.active_sessions):
                results.append(
                    tg.create_task(
                        self.apps.recover(session_id, reg.package_name, reg.webhook_url, ws_url)
                    )
                )
        return sum(1 for t in results if t.result())

    async def _notify_server(self, url: str, body: dict[str, Any]) -> None:
        """Optional registration webhooks: one bounded attempt, failures only logged."""
        assert self.core is not None
        try:
            await self.core.webhooks.post_once(
                url, body, timeout_s=self.settings.timings.scaled("webhook_timeout_s")
            )
        except WebhookError as exc:
            logger.info("%s webhook failed: %s", body["type"], exc)

    async def _recover_quietly(self, registration_id: str) -> None:
        recovered = await self._recover(registration_id)
        logger.info("re-registration %s recovered %d sessions", registration_id, recovered)

    async def _registrations(self, request: Request) -> Response:
        assert self.core is not None
        return JSONResponse(
            {"registrations": [r.to_json() for r in self.core.registrations.all()]}
        )

    # --- WebSockets ---------------------------------------------------------------------------

    async def _glasses_ws(self, websocket: WebSocket) -> None:
        core = self.core
        assert core is not None
        try:
            token = extract_token(websocket.headers, websocket.scope["query_string"].decode())
            user_id = verify_token(self.settings.jwt_secret, token)
        except AuthError as exc:
            self.metrics.auth_failures.labels(reason=type(exc).__name__).inc()
            logger.info("glasses upgrade refused: %s", exc)
            body = {"type": "connection_error", "message": exc.message,
                    "timestamp": wire.iso_now()}
            await websocket.send_denial_response(JSONResponse(body, status_code=401))
            return
        await websocket.accept()
        conn = self._connection(websocket, ConnKind.GLASSES)
        code: int | None = None
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(conn.run_writer())
                try:
                    user = await self.sessions.attach_glasses(user_id, conn)
                    while True:
                        message = await websocket.receive()
                        if message["type"] == "websocket.disconnect":
                            code = message.get("code")
                            break
                        try:
                            if message.get("text") is not None:
                                self.relay.on_text(user, conn, message["text"])
                            elif message.get("bytes") is not None:
                                self.relay.on_audio(user, conn, message["bytes"])
                        except Exception as exc:  # a bug: the session goes ERROR -> dispose
                            self.sessions.fail(user, conn, exc)
                finally:
                    self._closed(conn, code)
                    self.sessions.glasses_closed(conn)
        except Exception:
            logger.exception("%r: handler failed", conn)

    async def _app_ws(self, websocket: WebSocket) -> None:
        await websocket.accept()
        conn = self._connection(websocket, ConnKind.APP)
        code: int | None = None
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(conn.run_writer())
                try:
                    while True:
                        message = await websocket.receive()
                        if message["type"] == "websocket.disconnect":
                            code = message.get("code")
                            break
                        try:
                            if message.get("text") is not None:
                                self.app_handler.on_text(conn, message["text"])
                            elif message.get("bytes") is not None:
                                self.app_handler.on_binary(conn)
                        except Exception:  # a bug: refuse this socket, keep the server
                            logger.exception("%r: internal error", conn)
                            self.app_handler.fail(
                                conn, TpaErrorCode.INTERNAL_ERROR.value, "Internal error"
                            )
                finally:
                    self._closed(conn, code)
                    self.apps.socket_closed(conn)
        except Exception:
            logger.exception("%r: handler failed", conn)

    def _connection(self, websocket: WebSocket, kind: ConnKind) -> Connection:
        assert self.core is not None
        liveness = websocket.scope.get("extensions", {}).get(LIVENESS_EXTENSION)
        conn = Connection(
            websocket,
            kind,
            liveness if isinstance(liveness, Liveness) else None,
            clock=self._clock,
            abort_after_s=2 * self.settings.timings.scaled("close_handshake_timeout_s") + 0.5,
        )
        if conn.liveness is not None:
            drops = self.metrics.tcp_drops.labels(kind=kind.value)
            conn.liveness.on_drop = drops.inc
        self.core.connections.add(conn)
        return conn

    def _closed(self, conn: Connection, code: int | None) -> None:
        assert self.core is not None
        if code == CloseCode.MESSAGE_TOO_BIG and not conn.closing:
            self.metrics.bad_frames.labels(kind=conn.kind.value, reason="too_big").inc()
        conn.mark_closed(code)
        self.core.connections.discard(conn)
