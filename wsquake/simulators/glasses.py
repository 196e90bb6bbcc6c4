"""One simulated glasses client (PROTOCOL.md §3-§5, §10.2, §10.3) on the protocol core.

The client opens ``/glasses-ws`` with ``Authorization: Bearer <coreToken>``, sends
``connection_init`` the policy's ``init_delay_s`` after each open, accepts
``connection_ack`` with or without ``userSession``, starts its apps once (after the first
ack), streams sensor events at the configured rates and echo probes, records the
``display_event``s it receives (probe round trips), answers pings (library default) and,
when the policy has a ``client_ping_interval_s`` (Android), pings the cloud and fails the
socket on a missed pong. On any loss it reconnects by its policy through
:class:`~wsquake.protocol.GlassesRetry` with a seeded ``random.Random``.

One reconnect loop only: each socket is served inside the loop, and a socket the client
abandons (missed pong) is closed by a separate reaper task that records its late close
with the old connection epoch (``stale=true``) and never touches the retry state.

Everything goes to the history with the connection epoch ``conn`` (1 for the first
socket, +1 for each new one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from wsquake.history import BoundHistory, EventKind, History, NullHistory, Outcome
from wsquake.protocol import (
    ConnectionInit,
    IosPolicy,
    RetryAction,
    StartApp,
    StopApp,
    serialise,
)
from wsquake.protocol.retry import GlassesRetry
from wsquake.simulators.exceptions import GlassesError, GlassesNotConnected
from wsquake.simulators.glasses_inbox import GlassesInbox
from wsquake.simulators.glasses_model import (
    GlassesPolicy,
    GlassesSettings,
    GlassesState,
    GlassesStats,
    Initiator,
)
from wsquake.simulators.glasses_streams import SensorSource, SensorStream
from wsquake.simulators.probe import PROBE_STREAM

__all__ = [
    "GlassesClient",
    "GlassesPolicy",
    "GlassesSettings",
    "GlassesState",
    "GlassesStats",
    "Initiator",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Loss:
    initiator: Initiator
    code: int | None
    reason: str
    abandon: bool = False  # the socket is still open: hand it to the reaper


class _Stopped:
    pass


_STOPPED = _Stopped()


def _redact(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class GlassesClient:
    """A simulated glasses client. Use ``async with GlassesClient(...)`` (runs in the
    background, stops on exit) or ``await client.run()`` with ``stop()`` from elsewhere.
    """

    def __init__(
        self,
        settings: GlassesSettings,
        *,
        history: History | None = None,
        rng: random.Random | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        stats: GlassesStats | None = None,
    ) -> None:
        self.settings = settings
        self.user = settings.email
        self._token = settings.core_token
        self._h = BoundHistory(history or NullHistory("glasses"), self.user, self.user)
        rng = rng if rng is not None else random.Random(0)
        self._retry = GlassesRetry(settings.policy, random.Random(rng.getrandbits(64)))
        self.source = SensorSource(self.user, random.Random(rng.getrandbits(64)))
        self._phase = {stream: rng.random() for stream in SensorStream}
        self._probe_phase = rng.random()
        self._clock_ns = clock_ns
        self.stats = stats if stats is not None else GlassesStats()
        self.state = GlassesState.IDLE
        self.stats.states[self.state] += 1
        self._changed = asyncio.Event()
        self._stop = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._acked = asyncio.Event()
        self._apps_to_start = list(settings.apps)
        self.inbox = GlassesInbox(self.user, self._h, self.stats, clock_ns)
        self.pongs = 0
        """Pongs received for the client's own pings (Android policy)."""
        self._ran = False
        self._tg: asyncio.TaskGroup | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._run_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        # The TaskGroup is exited by a plain callback (after stop()), so an exception in
        # the caller's ``async with`` body is not wrapped into an ExceptionGroup.
        stack = contextlib.AsyncExitStack()
        tg = asyncio.TaskGroup()
        await tg.__aenter__()
        stack.push_async_callback(tg.__aexit__, None, None, None)
        self._run_task = tg.create_task(self.run(), name=f"glasses-{self.user}")
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.__aexit__(exc_type, exc, tb)

    def stop(self) -> None:
        """Ask the client to stop: close the socket (1000) or end the wait. ``run()``
        returns once done."""
        self._stop.set()

    @property
    def conn(self) -> int:
        """The current connection epoch (0 before the first socket)."""
        return self._h.conn

    @property
    def connected(self) -> bool:
        return self.state is GlassesState.CONNECTED

    def drop_transport(self) -> bool:
        """Fault hook: abort the current TCP connection without a close frame (the link
        breaks under the client). Returns False if there is no socket."""
        ws = self._ws
        if ws is None:
            return False
        ws.transport.abort()
        return True

    async def wait_state(self, *states: GlassesState) -> GlassesState:
        """Wait until the client is in one of ``states`` (bound it with a timeout)."""
        while self.state not in states:
            await self._changed.wait()
        return self.state

    async def wait_pongs(self, count: int) -> None:
        """Wait until the client's own pings (Android) got ``count`` pongs in total."""
        while self.pongs < count:
            await self._changed.wait()

    def _set_state(self, state: GlassesState) -> None:
        if state is self.state:
            return
        self.stats.states[self.state] -= 1
        self.stats.states[state] += 1
        self.state = state
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def run(self) -> None:
        """The reconnect loop; returns after ``stop()`` or when the policy gives up."""
        if self._ran:
            raise GlassesError(f"glasses client {self.user} already ran; make a new one")
        self._ran = True
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                await self._loop()
        finally:
            self._tg = None
            if self.state is not GlassesState.GAVE_UP:
                self._set_state(GlassesState.STOPPED)

    async def _loop(self) -> None:
        while not self._stop.is_set():
            self._h.next_conn()
            self._set_state(GlassesState.CONNECTING)
            self._h.record(EventKind.CONNECT, Outcome.INVOKE, url=_redact(self.settings.cloud_url))
            opened = await self._race_stop(self._open())
            if isinstance(opened, _Stopped):
                self._h.record(EventKind.CONNECT, Outcome.INFO, error="stopped while connecting")
                return
            ws, failure = opened
            if ws is None:
                code, reason = None, failure
            else:
                self._retry.on_open()
                self.stats.connects += 1
                loss = await self._session(ws)
                code, reason = loss.code, loss.reason
            if self._stop.is_set():
                return
            decision = self._retry.on_close(code, reason)
            if decision.action is not RetryAction.RECONNECT or decision.delay_s is None:
                self._h.record(
                    EventKind.GIVE_UP,
                    Outcome.FAIL,
                    attempts=self._retry.failures,
                    reason=reason or "",
                    code=code,
                )
                self._set_state(GlassesState.GAVE_UP)
                return
            self._h.record(
                EventKind.RECONNECT_WAIT,
                Outcome.INFO,
                attempt=decision.attempt,
                delay_s=round(decision.delay_s, 6),
            )
            self._set_state(GlassesState.WAITING)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(decision.delay_s):
                    await self._stop.wait()

    async def _race_stop(self, work: Coroutine[Any, Any, T]) -> T | _Stopped:
        """Run ``work``; if ``stop()`` comes first, cancel it and return ``_STOPPED``."""

        async def watch() -> None:
            await self._stop.wait()

        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(work)
            watcher = tg.create_task(watch())
            await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
            watcher.cancel()
            if not task.done():
                task.cancel()
        if task.cancelled():
            return _STOPPED
        return task.result()

    # ------------------------------------------------------------------ connecting

    async def _open(self) -> tuple[ClientConnection | None, str]:
        """Open the socket; on failure return ``(None, why)`` after recording it."""
        start = time.monotonic()
        try:
            ws = await connect(
                self.settings.cloud_url,
                additional_headers={"Authorization": f"Bearer {self._token}"},
                open_timeout=self.settings.open_timeout_s,
                close_timeout=self.settings.close_timeout_s,
                ping_interval=None,  # the library still answers the cloud's pings
                ping_timeout=None,
                max_size=self.settings.max_message_bytes,
                max_queue=64,
                compression=None,
                proxy=None,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                self._h.record(EventKind.AUTH, Outcome.FAIL, status=status)
            self._h.record(EventKind.CONNECT, Outcome.FAIL, status=status, error=f"HTTP {status}")
            return None, f"HTTP {status}"
        except TimeoutError:
            self._h.record(EventKind.CONNECT, Outcome.FAIL, error="open timeout")
            return None, "open timeout"
        except (OSError, WebSocketException) as exc:
            why = f"{type(exc).__name__}: {exc}"
            self._h.record(EventKind.CONNECT, Outcome.FAIL, error=why)
            return None, why
        elapsed_ms = round((time.monotonic() - start) * 1000, 3)
        self._h.record(EventKind.CONNECT, Outcome.OK, elapsed_ms=elapsed_ms)
        self._h.record(EventKind.AUTH, Outcome.OK)
        return ws, ""

    # ------------------------------------------------------------------ one socket

    async def _session(self, ws: ClientConnection) -> _Loss:
        loop = asyncio.get_running_loop()
        lost: asyncio.Future[_Loss] = loop.create_future()
        self._ws = ws
        self._acked = asyncio.Event()
        self._set_state(GlassesState.OPEN)
        policy = self.settings.policy
        try:
            async with asyncio.TaskGroup() as tg:
                tasks = [
                    tg.create_task(self._receiver(ws, lost)),
                    tg.create_task(self._initialiser(ws, lost)),
                    tg.create_task(self._app_starter(ws, lost)),
                ]
                if policy.client_ping_interval_s > 0:
                    tasks.append(tg.create_task(self._pinger(ws, lost)))
                for stream, rate in self.settings.rates.enabled():
                    tasks.append(tg.create_task(self._streamer(ws, stream, rate, lost)))
                if self.settings.probe_interval_s > 0:
                    tasks.append(tg.create_task(self._prober(ws, lost)))
                stop_watch = tg.create_task(self._stop.wait())
                waiters: set[asyncio.Future[Any]] = {lost, stop_watch}
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                if not lost.done():
                    lost.set_result(_Loss(Initiator.SELF, 1000, "client stop"))
                for task in (*tasks, stop_watch):
                    task.cancel()
        except BaseException:
            ws.transport.abort()  # a bug or an outside cancel: never leak the socket
            raise
        finally:
            self._ws = None
        loss = lost.result()
        conn = self._h.conn
        if loss.initiator is Initiator.SELF:
            await ws.close(1000, loss.reason)
            self._h.record(
                EventKind.CLOSE, Outcome.OK, code=1000, reason=loss.reason, initiator="self"
            )
        else:
            self._h.record(
                EventKind.CLOSE,
                Outcome.INFO,
                code=loss.code,
                reason=loss.reason,
                initiator=loss.initiator.value,
            )
            if loss.abandon:
                assert self._tg is not None
                self._tg.create_task(self._reap(ws, conn))
        return loss

    @staticmethod
    def _set_lost(lost: asyncio.Future[_Loss], loss: _Loss) -> None:
        if not lost.done():
            lost.set_result(loss)

    @staticmethod
    def _close_info(ws: ClientConnection) -> _Loss:
        protocol = ws.protocol
        rcvd, sent = protocol.close_rcvd, protocol.close_sent
        if rcvd is None and sent is None:
            return _Loss(Initiator.NETWORK, 1006, "")
        if rcvd is not None and (sent is None or protocol.close_rcvd_then_sent):
            return _Loss(Initiator.PEER, int(rcvd.code), rcvd.reason)
        assert sent is not None
        code = int(rcvd.code) if rcvd is not None else 1006
        return _Loss(Initiator.SELF, code, sent.reason)

    async def _reap(self, ws: ClientConnection, conn: int) -> None:
        """Close an abandoned socket; its late close is recorded, never acted on."""
        await ws.close(1000, "abandoned")
        rcvd = ws.protocol.close_rcvd
        self._h.record(
            EventKind.CLOSE,
            Outcome.OK,
            conn=conn,
            code=int(rcvd.code) if rcvd is not None else 1006,
            reason="abandoned",
            initiator="self",
            stale=True,
        )

    async def _receiver(self, ws: ClientConnection, lost: asyncio.Future[_Loss]) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for frame in ws:
                if isinstance(frame, str) and self.inbox.feed(frame) and not self._acked.is_set():
                    self._acked.set()
                    self._set_state(GlassesState.CONNECTED)
        self._set_lost(lost, self._close_info(ws))

    async def _send(self, ws: ClientConnection, payload: str | bytes) -> bool:
        try:
            await ws.send(payload)
        except ConnectionClosed:
            return False
        return True

    async def _initialiser(self, ws: ClientConnection, lost: asyncio.Future[_Loss]) -> None:
        await asyncio.sleep(self.settings.policy.init_delay_s)
        now_ns = self._clock_ns()
        message = ConnectionInit(
            core_token=self._token, user_id=self.user, timestamp=now_ns // 1_000_000
        )
        self._h.record(EventKind.INIT, Outcome.INVOKE)
        if not await self._send(ws, serialise(message)):
            self._h.record(EventKind.INIT, Outcome.FAIL, error="socket closed")
            return
        self.inbox.init_sent(now_ns)
        if isinstance(self.settings.policy, IosPolicy):
            resent = self.source.resend_location(self._clock_ns())
            if resent is not None:
                payload, seq = resent
                await self._send_stream(ws, SensorStream.LOCATION_UPDATE.value, payload, seq)

    async def _app_starter(self, ws: ClientConnection, lost: asyncio.Future[_Loss]) -> None:
        """Start the configured apps once; what a lost socket kept from being sent is
        sent after the next ack."""
        await self._acked.wait()
        while self._apps_to_start:
            try:
                await self._send_app_command(ws, self._apps_to_start[0], start=True)
            except GlassesNotConnected:
                return  # the receiver reports the loss
            self._apps_to_start.pop(0)

    async def _pinger(self, ws: ClientConnection, lost: asyncio.Future[_Loss]) -> None:
        """Android: ping every interval; no pong before the next ping fails the socket."""
        interval = self.settings.policy.client_ping_interval_s
        while True:
            await asyncio.sleep(interval)
            try:
                pong = await ws.ping()
            except ConnectionClosed:
                return
            try:
                async with asyncio.timeout(interval):
                    await pong
                self.pongs += 1
                self._notify()
            except TimeoutError:
                self._set_lost(lost, _Loss(Initiator.NETWORK, None, "pong timeout", abandon=True))
                return
            except ConnectionClosed:
                return

    async def _streamer(
        self, ws: ClientConnection, stream: SensorStream, rate: float, lost: asyncio.Future[_Loss]
    ) -> None:
        await self._acked.wait()
        loop = asyncio.get_running_loop()
        interval = 1.0 / rate
        due = loop.time() + self._phase[stream] * interval
        while True:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            due = max(due + interval, loop.time() - interval)  # no burst after a stall
            sent_ns = self._clock_ns()
            payload, seq = self.source.make(stream, sent_ns)
            if not await self._send_stream(ws, stream.value, payload, seq, sent_ns):
                return

    async def _send_stream(
        self, ws: ClientConnection, stream: str, payload: str | bytes, seq: int, sent_ns: int = 0
    ) -> bool:
        if await self._send(ws, payload):
            self.stats.sent += 1
            self._h.record(
                EventKind.SEND, Outcome.OK, user=self.user, stream=stream, seq=seq, sent_ns=sent_ns
            )
            return True
        self.stats.send_failed += 1
        self._h.record(
            EventKind.SEND, Outcome.FAIL, user=self.user, stream=stream, seq=seq, error="closed"
        )
        return False

    async def _prober(self, ws: ClientConnection, lost: asyncio.Future[_Loss]) -> None:
        await self._acked.wait()
        loop = asyncio.get_running_loop()
        interval = self.settings.probe_interval_s
        due = loop.time() + self._probe_phase * interval
        while True:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            due = max(due + interval, loop.time())
            await self.send_probe(ws)

    async def send_probe(self, ws: ClientConnection | None = None) -> int:
        """Send one echo probe now; returns its seq (raises if not connected)."""
        ws = ws or self._require_socket()
        sent_ns = self._clock_ns()
        payload, seq = self.source.make_probe(sent_ns)
        fields: dict[str, Any] = {"user": self.user, "stream": PROBE_STREAM, "seq": seq}
        if await self._send(ws, payload):
            self.inbox.probe_sent(seq, sent_ns)
            self.stats.probes += 1
            self._h.record(EventKind.PROBE, Outcome.INVOKE, sent_ns=sent_ns, **fields)
        else:
            self._h.record(EventKind.PROBE, Outcome.FAIL, error="closed", **fields)
        return seq

    async def send_raw(self, payload: str | bytes) -> None:
        """Test/fault hook: send one raw frame on the current socket (not recorded)."""
        if not await self._send(self._require_socket(), payload):
            raise GlassesNotConnected(f"glasses {self.user}: socket closed")

    # ------------------------------------------------------------------ apps

    def _require_socket(self) -> ClientConnection:
        ws = self._ws
        if ws is None or not self._acked.is_set():
            raise GlassesNotConnected(f"glasses {self.user} is {self.state.value}, not connected")
        return ws

    async def start_app(self, package: str) -> None:
        """Send ``start_app``; the ``start_app`` ok is recorded when the app runs."""
        await self._send_app_command(self._require_socket(), package, start=True)

    async def stop_app(self, package: str) -> None:
        """Send ``stop_app``; the ``stop_app`` ok is recorded when the app is gone."""
        await self._send_app_command(self._require_socket(), package, start=False)

    async def _send_app_command(self, ws: ClientConnection, package: str, *, start: bool) -> None:
        kind = EventKind.START_APP if start else EventKind.STOP_APP
        message = StartApp(package_name=package) if start else StopApp(package_name=package)
        self._h.record(kind, Outcome.INVOKE, package=package)
        self.inbox.app_command_sent(package, start=start)
        if not await self._send(ws, serialise(message)):
            self.inbox.app_command_lost(package, start=start)
            self._h.record(kind, Outcome.FAIL, package=package, error="socket closed")
            raise GlassesNotConnected(f"glasses {self.user}: socket closed sending {kind.value}")
