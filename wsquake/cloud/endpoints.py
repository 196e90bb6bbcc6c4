"""WebSocket endpoints: glasses (auth on the upgrade, §3.1), apps (§6), and HTTP 404 for
any other upgrade path. Each socket's writer task is owned by the endpoint's TaskGroup."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket

from wsquake.cloud import wire
from wsquake.cloud.app_socket import AppSocketHandler
from wsquake.cloud.apps import AppManager
from wsquake.cloud.auth import extract_token, verify_token
from wsquake.cloud.core import CloudCore
from wsquake.cloud.exceptions import AuthError
from wsquake.cloud.relay import Relay
from wsquake.cloud.sessions import SessionManager
from wsquake.cloud.transport import LIVENESS_EXTENSION, Connection, ConnKind, Liveness
from wsquake.protocol.codes import CloseCode, TpaErrorCode

__all__ = ["SocketEndpoints"]

logger = logging.getLogger(__name__)


class SocketEndpoints:
    def __init__(
        self,
        core: CloudCore,
        apps: AppManager,
        sessions: SessionManager,
        relay: Relay,
        app_handler: AppSocketHandler,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.core = core
        self.apps = apps
        self.sessions = sessions
        self.relay = relay
        self.app_handler = app_handler
        self.settings = core.settings
        self.metrics = core.metrics
        self._clock = clock

    async def unknown_ws(self, websocket: WebSocket) -> None:
        self.metrics.bad_frames.labels(kind="upgrade", reason="unknown_path").inc()
        await websocket.send_denial_response(Response(status_code=404))

    async def glasses_ws(self, websocket: WebSocket) -> None:
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

    async def app_ws(self, websocket: WebSocket) -> None:
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
        if code == CloseCode.MESSAGE_TOO_BIG and not conn.closing:
            self.metrics.bad_frames.labels(kind=conn.kind.value, reason="too_big").inc()
        conn.mark_closed(code)
        self.core.connections.discard(conn)
