"""The SDK's ``AppServer`` (PROTOCOL.md §7, §10.1): Starlette on uvicorn, port 0 or fixed.

Routes: ``POST /webhook`` (``session_request`` / ``stop_request``) and ``GET /health``
(``{status:"healthy", app, activeSessions}`` plus the simulator's counters).

- **session_request** (profile ``sdk_2_1``): an existing session for the id gets
  ``ownership_release{reason:"switching_clouds"}`` and is disconnected (the cloud sees
  1005); a new :class:`~wsquake.simulators.app_session.AppSession` connects and waits for
  the ack within ``ack_timeout_s``; then the app's ``on_session`` runs and the reply is
  200 ``{"status":"success"}``. On failure: 500 ``{"status":"error","message":"Failed to
  connect"}``; the failed session is not in the map, but its socket stays open (SDK).
- **stop_request**: ``on_stop`` disconnects the session found by id, then 200.
- **Session map:** a permanent, session-ended or clean 1000/1001 close calls ``on_stop``
  and removes the entry only if it is still the same object; other closes keep it (a 1008
  leaves a zombie). Profile ``sdk_2_0``: every close removes the entry and a new
  ``session_request`` does not replace an existing session.
- **Shutdown** disconnects every session without ``ownership_release``.
- **Duplicates:** two OPEN, acked sockets for one session id (still so after
  ``duplicate_settle_s``, which lets a superseding close arrive) are a
  ``duplicate_session`` event and count in ``/health`` as ``duplicateSessions``.
- **Registration** (optional, §7.3): ``POST {cloud}/api/tpa-server/register`` on start,
  then a heartbeat loop; a new instance with the same ``webhookUrl`` re-registering makes
  the cloud re-send ``session_request`` for the sessions it had (restart recovery).
- **Faults for tests and scenarios:** :attr:`AppServer.webhook_delay_s` delays every
  webhook reply; :meth:`AppServer.fail_next_webhooks` answers the next N webhooks 500;
  both are also settable at run time through ``POST /_wsquake/faults``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wsquake.asgi_server import EmbeddedServer
from wsquake.config import ConfigError
from wsquake.history import EventKind, History, NullHistory, Outcome
from wsquake.protocol import (
    OwnershipReleaseReason,
    ParseError,
    SessionRequest,
    StopRequest,
    UnknownType,
    parse_webhook,
)
from wsquake.simulators.app_model import (
    App,
    AppServerError,
    AppServerSettings,
    AppServerStats,
    ConnectFailed,
    Disconnected,
    RegistrationFailed,
    SdkProfile,
    SessionConfig,
    SessionPhase,
    SubscriberApp,
)
from wsquake.simulators.app_session import AppSession
from wsquake.simulators.registration import TpaRegistration

__all__ = [
    "App",
    "AppServer",
    "AppServerError",
    "AppServerSettings",
    "AppServerStats",
    "RegistrationFailed",
    "SdkProfile",
    "SubscriberApp",
]

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 10.0
FAULTS_PATH = "/_wsquake/faults"
"""*(project)* runtime webhook faults: ``GET`` shows, ``POST {webhookDelayS?,
failNextWebhooks?}`` sets them (delay in wall seconds)."""
HTTP_TIMEOUT_S = 10.0


@dataclass(slots=True)
class _Counters:
    webhooks: int = 0
    webhook_failures: int = 0
    duplicates: int = 0
    finished_received: int = 0
    finished_reconnects: int = 0
    finished_lost: int = 0
    finished_gaps: int = 0


class AppServer:
    """One simulated app server; an async context manager. Not reusable."""

    def __init__(
        self,
        settings: AppServerSettings,
        app: App | None = None,
        *,
        history: History | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.settings = settings
        self.app: App = app if app is not None else SubscriberApp(settings.subscriptions)
        self.history: History = history if history is not None else NullHistory("app-server")
        self._clock = clock
        self._wall_ns = wall_ns
        self.session_config = SessionConfig(
            package_name=settings.package_name,
            api_key=settings.api_key,
            policy=settings.policy(),
            hung_attempt_stalls=settings.hung_attempt_stalls,
        )
        self.port = 0
        self.sessions: dict[str, AppSession] = {}
        """The SDK's ``activeSessions`` map."""
        self._epochs: dict[str, int] = {}
        self._all: dict[str, list[AppSession]] = {}
        """Every session this server created and has not yet retired, by id."""
        self._counters = _Counters()
        self.webhook_delay_s = settings.scaled(settings.webhook_delay_s)
        """Wall seconds every webhook reply is delayed by (settable at any time)."""
        self._fail_next = 0
        self.registration: TpaRegistration | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._server: EmbeddedServer | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None
        self._closing = False
        self._heartbeat_task: asyncio.Task[None] | None = None

    # --- addresses -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/")
        host = self.settings.public_host or self.settings.host
        if host in ("0.0.0.0", "", "::"):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhook"

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def package_name(self) -> str:
        return self.settings.package_name

    # --- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> AppServer:
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        try:
            await self._start(stack)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.__aexit__(exc_type, exc, tb)

    async def _start(self, stack: contextlib.AsyncExitStack) -> None:
        family = socket.AF_INET6 if ":" in self.settings.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        stack.callback(sock.close)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.settings.host, self.settings.port))
        sock.listen(1024)
        sock.setblocking(False)
        self.port = int(sock.getsockname()[1])
        self._http = await stack.enter_async_context(
            httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, trust_env=False)
        )
        # Exited by a plain callback so an error in the caller's body is not wrapped.
        tg = asyncio.TaskGroup()
        await tg.__aenter__()
        stack.push_async_callback(tg.__aexit__, None, None, None)
        self._tg = tg
        config = uvicorn.Config(
            Starlette(
                routes=[
                    Route("/webhook", self._on_webhook, methods=["POST"]),
                    Route("/health", self._on_health, methods=["GET"]),
                    Route(FAULTS_PATH, self._on_faults, methods=["GET", "POST"]),
                ]
            ),
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=1,
            ws="none",
        )
        server = EmbeddedServer(config)
        self._server = server
        stack.push_async_callback(self._shutdown)
        self._serve_task = tg.create_task(self._serve(server, sock), name="app-server-http")
        try:
            await server.wait_started(self._serve_task, STARTUP_TIMEOUT_S)
        except RuntimeError as exc:
            raise AppServerError(f"{self.package_name}: HTTP server stopped at startup") from exc
        logger.info("app server %s listening on %s", self.package_name, self.webhook_url)
        if self.settings.register_with:
            await self.register()

    async def _serve(self, server: EmbeddedServer, sock: socket.socket) -> None:
        try:
            await server.serve(sockets=[sock])
        except (Exception, SystemExit) as exc:
            logger.error("%s: uvicorn failed: %r", self.package_name, exc)

    async def _shutdown(self) -> None:
        """SIGTERM/SIGINT in the SDK: disconnect every session without
        ``ownership_release`` (the cloud sees 1005), then stop serving."""
        self._closing = True
        sessions = list(self.sessions.values())
        self.sessions.clear()
        for session in sessions:
            await session.disconnect()
        for group in list(self._all.values()):
            for session in group:
                await session.disconnect()  # orphans too: the process is gone
                self._fold(session)
        self._all.clear()
        if self._server is not None:
            self._server.request_exit()
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
        if self._serve_task is not None:
            await self._serve_task

    # --- registration (§7.3) -------------------------------------------------------------

    async def register(self, cloud_url: str | None = None) -> str:
        """Register with the cloud (``cloud_url``, default ``register_with``) as a TPA
        server and keep the registration alive with heartbeats; returns the
        ``registrationId``. A new instance with the same ``webhookUrl`` registering makes
        the cloud recover the sessions the old one had."""
        if self._http is None or self._tg is None:
            raise AppServerError(f"{self.package_name}: register() before the server started")
        url = cloud_url or self.settings.register_with
        if not url:
            raise ConfigError("register_with", "no cloud URL to register with")
        if self.registration is not None and self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            self._heartbeat_task = None
        self.registration = TpaRegistration(
            http=self._http,
            cloud_url=url,
            package_name=self.package_name,
            api_key=self.settings.api_key,
            webhook_url=self.webhook_url,
            history=self.history,
            server_urls=self.settings.server_urls,
            heartbeat_interval_s=self.settings.scaled(self.settings.heartbeat_interval_s),
        )
        registration_id = await self.registration.register()
        self._heartbeat_task = self._tg.create_task(
            self.registration.run_heartbeats(), name=f"app-heartbeat:{self.package_name}"
        )
        return registration_id

    @property
    def registration_id(self) -> str | None:
        return self.registration.registration_id if self.registration else None

    # --- faults --------------------------------------------------------------------------

    def fail_next_webhooks(self, count: int = 1) -> None:
        """Answer the next ``count`` webhooks with 500 without connecting."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        self._fail_next = count

    async def _on_faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                body = json.loads(await request.body() or b"{}")
            except ValueError as exc:
                return self._reply(400, {"status": "error", "message": f"not JSON: {exc}"})
            if not isinstance(body, dict):
                return self._reply(400, {"status": "error", "message": "expected an object"})
            unknown = sorted(set(body) - {"webhookDelayS", "failNextWebhooks"})
            if unknown:
                return self._reply(400, {"status": "error",
                                         "message": f"unknown field(s): {', '.join(unknown)}"})
            delay = body.get("webhookDelayS", self.webhook_delay_s)
            fail = body.get("failNextWebhooks", self._fail_next)
            if isinstance(delay, bool) or not isinstance(delay, int | float) or not (
                math.isfinite(delay) and delay >= 0
            ):
                return self._reply(400, {"status": "error",
                                         "message": f"webhookDelayS must be a number >= 0, "
                                                    f"got {delay!r}"})
            if isinstance(fail, bool) or not isinstance(fail, int) or fail < 0:
                return self._reply(400, {"status": "error",
                                         "message": f"failNextWebhooks must be an integer >= 0, "
                                                    f"got {fail!r}"})
            self.webhook_delay_s = float(delay)
            self._fail_next = fail
        return self._reply(200, {"webhookDelayS": self.webhook_delay_s,
                                 "failNextWebhooks": self._fail_next})

    # --- HTTP ----------------------------------------------------------------------------------

    async def _on_health(self, request: Request) -> Response:
        stats = self.stats()
        return JSONResponse(
            {
                "status": "healthy",
                "app": self.package_name,
                "activeSessions": len(self.sessions),
                "liveSockets": stats.live,
                "duplicateSessions": stats.duplicates,
            }
        )

    def _reply(self, status: int, body: dict[str, Any]) -> Response:
        return JSONResponse(body, status_code=status)

    async def _on_webhook(self, request: Request) -> Response:
        raw = await request.body()
        started = self._clock()
        self._counters.webhooks += 1
        try:
            message = parse_webhook(raw)
        except UnknownType as exc:
            return self._webhook_done("unknown", "", started, 400,
                                      "Unknown webhook request type", str(exc))
        except ParseError as exc:
            return self._webhook_done("invalid", "", started, 400,
                                      f"Invalid webhook body: {exc}", str(exc))
        if not isinstance(message, SessionRequest | StopRequest):
            return self._webhook_done(message.TYPE, "", started, 400,
                                      "Unknown webhook request type", None)
        kind = message.TYPE
        self.history.record(EventKind.WEBHOOK, Outcome.INVOKE, client_id=message.session_id,
                            session_id=message.session_id, request=kind,
                            package=self.package_name)
        if self.webhook_delay_s > 0:
            await asyncio.sleep(self.webhook_delay_s)
        if self._fail_next > 0:
            self._fail_next -= 1
            return self._webhook_done(kind, message.session_id, started, 500,
                                      "Injected failure", "injected")
        if isinstance(message, SessionRequest):
            ok = await self._session_request(message)
            if ok:
                return self._webhook_done(kind, message.session_id, started, 200, None, None)
            return self._webhook_done(kind, message.session_id, started, 500,
                                      "Failed to connect", "Failed to connect")
        await self._stop(message.session_id, message.user_id, message.reason)
        return self._webhook_done(kind, message.session_id, started, 200, None, None)

    def _webhook_done(
        self,
        request: str,
        session_id: str,
        started: float,
        status: int,
        message: str | None,
        error: str | None,
    ) -> Response:
        elapsed_ms = round((self._clock() - started) * 1000, 3)
        if status >= 300:
            self._counters.webhook_failures += 1
        self.history.record(
            EventKind.WEBHOOK,
            Outcome.OK if status < 300 else Outcome.FAIL,
            client_id=session_id,
            session_id=session_id,
            request=request,
            status=status,
            package=self.package_name,
            elapsed_ms=elapsed_ms,
            error=error,
        )
        if status < 300:
            return self._reply(status, {"status": "success"})
        return self._reply(status, {"status": "error", "message": message or "error"})

    # --- the SDK's session handling --------------------------------------------------------------

    async def _session_request(self, request: SessionRequest) -> bool:
        session_id, user_id = request.session_id, request.user_id
        if self._closing:
            return False
        existing = self.sessions.get(session_id)
        if existing is not None and self.settings.profile is SdkProfile.SDK_2_1:
            await existing.release_ownership(OwnershipReleaseReason.SWITCHING_CLOUDS.value)
            await existing.disconnect()
            if self.sessions.get(session_id) is existing:
                del self.sessions[session_id]
        assert self._tg is not None
        session = AppSession(
            self.session_config,
            session_id=session_id,
            user_id=user_id,
            ws_url=request.websocket_url,
            task_group=self._tg,
            history=self.history,
            wall_ns=self._wall_ns,
            clock=self._clock,
            next_epoch=lambda: self._next_epoch(session_id),
        )

        def on_disconnected(s: AppSession, info: Disconnected) -> None:
            self._session_disconnected(s, info)

        session.on_disconnected(on_disconnected)
        session.on_connected(self._session_connected)
        self._all.setdefault(session_id, []).append(session)
        try:
            await session.connect()
            if self.closing:  # shut down while connecting
                await session.disconnect()
                return False
            self.sessions[session_id] = session
            await self.app.on_session(session)
        except ConnectFailed as exc:
            logger.info("%s: %s", self.package_name, exc)
            session.remove_disconnected(on_disconnected)
            return False
        except Exception:
            logger.exception("%s: on_session failed for %s", self.package_name, session_id)
            session.remove_disconnected(on_disconnected)
            return False
        return True

    def _next_epoch(self, session_id: str) -> int:
        """Connection epochs count per session id in this server, across replacements."""
        epoch = self._epochs.get(session_id, 0) + 1
        self._epochs[session_id] = epoch
        return epoch

    def _session_disconnected(self, session: AppSession, info: Disconnected) -> None:
        session_id = session.session_id
        permanent = info.session_ended or info.permanent or info.was_clean or info.code in (
            1000,
            1001,
        )
        if permanent and not self._closing:
            reason = (
                "User session ended"
                if info.session_ended
                else f"Connection permanently lost: {info.reason}"
                if info.permanent
                else f"Clean disconnect: {info.reason}"
            )
            assert self._tg is not None
            self._tg.create_task(self._stop(session_id, session.user_id, reason))
        if permanent or self.settings.profile is SdkProfile.SDK_2_0:
            if self.sessions.get(session_id) is session:
                del self.sessions[session_id]

    async def _stop(self, session_id: str, user_id: str, reason: str) -> None:
        """The SDK's base ``onStop``: disconnect the session found by id, drop it, then
        the app's own ``on_stop``."""
        session = self.sessions.pop(session_id, None)
        if session is not None:
            await session.disconnect()
        try:
            await self.app.on_stop(session_id, user_id, reason)
        except Exception:
            logger.exception("%s: on_stop failed for %s", self.package_name, session_id)
        self._retire(session_id)

    def _retire(self, session_id: str) -> None:
        """Forget finished sessions (keeping their counters)."""
        group = self._all.get(session_id)
        if not group:
            return
        done = {SessionPhase.STOPPED, SessionPhase.GAVE_UP, SessionPhase.DISCONNECTED}
        keep = []
        for s in group:
            if s.phase in done and not s.is_open and self.sessions.get(session_id) is not s:
                self._fold(s)
            else:
                keep.append(s)
        if keep:
            self._all[session_id] = keep
        else:
            del self._all[session_id]

    def _fold(self, s: AppSession) -> None:
        """Keep a retired session's counters."""
        self._counters.finished_received += s.received
        self._counters.finished_reconnects += s.reconnects
        self._counters.finished_lost += s.lost_sends
        self._counters.finished_gaps += s.gaps

    def _session_connected(self, session: AppSession) -> None:
        if self._closing or self._tg is None:
            return
        self._retire(session.session_id)
        if sum(1 for s in self._all.get(session.session_id, ()) if s.is_live) < 2:
            return
        self._tg.create_task(self._check_duplicate(session))

    async def _check_duplicate(self, session: AppSession) -> None:
        """Two live sockets for one id right after an ack may be a supersede in flight:
        look again after ``duplicate_settle_s``."""
        await asyncio.sleep(self.settings.scaled(self.settings.duplicate_settle_s))
        live = [s for s in self._all.get(session.session_id, ()) if s.is_live]
        if len(live) < 2 or session not in live:
            return
        self._counters.duplicates += 1
        logger.warning("%s: %d live sessions for %s", self.package_name, len(live),
                       session.session_id)
        self.history.record(
            EventKind.DUPLICATE_SESSION,
            Outcome.INFO,
            client_id=session.session_id,
            session_id=session.session_id,
            conn=session.epoch,
            package=self.package_name,
            live=len(live),
        )

    # --- observation ---------------------------------------------------------------------

    def all_sessions(self) -> list[AppSession]:
        return [s for group in self._all.values() for s in group]

    def stats(self) -> AppServerStats:
        sessions = self.all_sessions()
        c = self._counters
        return AppServerStats(
            sessions=len(self.sessions),
            live=sum(1 for s in sessions if s.is_live),
            reconnects=c.finished_reconnects + sum(s.reconnects for s in sessions),
            received=c.finished_received + sum(s.received for s in sessions),
            lost_sends=c.finished_lost + sum(s.lost_sends for s in sessions),
            gaps=c.finished_gaps + sum(s.gaps for s in sessions),
            duplicates=c.duplicates,
            webhooks=c.webhooks,
            webhook_failures=c.webhook_failures,
        )

