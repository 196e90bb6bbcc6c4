"""One glasses client on blocking sockets, for Locust load fleets.

The same protocol core and simulator pieces as the asyncio
:class:`~wsquake.simulators.glasses.GlassesClient` (``ConnectionInit``/``StartApp``
serialisation, :class:`~wsquake.simulators.glasses_inbox.GlassesInbox` for every cloud
frame, :class:`~wsquake.simulators.glasses_streams.SensorSource` for sensor messages and
probes, :class:`~wsquake.protocol.retry.GlassesRetry` for the reconnect policy), over
``websocket-client`` and ``threading`` primitives. In a plain process each client uses two
threads; under gevent's monkey-patching (Locust) the same code runs in two greenlets.

Measurements go to a :class:`~wsquake.load.samples.Sink` with real timings: ``connect``
(dial to open), ``ack`` (init to ack), ``echo`` (probe round trip, wall clock from the
probe's own ``sentNs``) and ``reconnect`` (socket lost to the next ack), plus a
:class:`~wsquake.load.samples.RecoverySample` per recovery. Unanswered probes are
reported as ``echo`` failures after ``probe_timeout_s`` (once the user's first echo has
shown its path works; probes wait until the apps run).

Not modelled (unlike the asyncio client): the Android client's own pings; the cloud's
pings are answered by websocket-client.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import websocket

from wsquake.history import BoundHistory, EventKind, History, NullHistory, Outcome
from wsquake.protocol import ConnectionInit, RetryAction, StartApp, serialise
from wsquake.protocol.retry import GlassesRetry
from wsquake.simulators.glasses_inbox import GlassesInbox
from wsquake.simulators.glasses_model import GlassesSettings, GlassesState, GlassesStats
from wsquake.simulators.glasses_streams import SensorSource, SensorStream
from wsquake.simulators.probe import PROBE_STREAM

from .samples import Metric, RecoverySample, Sink

__all__ = ["LoadGlasses"]

logger = logging.getLogger(__name__)

_PROBE = "probe"
_INIT = "init"


@dataclass(slots=True)
class _Socket:
    """One open socket and what its ticker needs."""

    ws: websocket.WebSocket
    conn: int
    closed: threading.Event
    acked: threading.Event
    settled: threading.Event
    """Set on ack or on close: the ticker waits for either after sending init."""


class LoadGlasses:
    """A glasses client for load fleets. ``start()`` runs it in a thread (a greenlet
    under gevent); ``stop()`` closes the socket with 1000 and joins."""

    def __init__(
        self,
        settings: GlassesSettings,
        sink: Sink,
        *,
        history: History | None = None,
        rng: random.Random | None = None,
        worker: int = 0,
        probe_timeout_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.settings = settings
        self.user = settings.email
        self.sink = sink
        self.worker = worker
        self.probe_timeout_s = probe_timeout_s
        self._clock = clock
        self._clock_ns = clock_ns
        self._token = settings.core_token
        self._h = BoundHistory(history or NullHistory("locust"), self.user, self.user)
        rng = rng if rng is not None else random.Random(0)
        self._retry = GlassesRetry(settings.policy, random.Random(rng.getrandbits(64)))
        self.source = SensorSource(self.user, random.Random(rng.getrandbits(64)))
        self._phase = {stream: rng.random() for stream in SensorStream}
        self._probe_phase = rng.random()
        self.stats = GlassesStats()
        self.inbox = GlassesInbox(self.user, self._h, self.stats, clock_ns)
        self._lock = threading.Lock()  # inbox and source: receiver vs ticker
        self._stop = threading.Event()
        self._socket: _Socket | None = None
        self._apps_to_start = list(settings.apps)
        self._lost_at: tuple[float, int, int] | None = None  # (monotonic, wall ns, conn)
        self._init_sent_at: float | None = None
        self._probe_sent_at: dict[int, float] = {}
        self._thread: threading.Thread | None = None
        self.state = GlassesState.IDLE
        self.connects = 0
        self.recoveries = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"load glasses {self.user} already started")
        self._thread = threading.Thread(target=self.run, name=f"load-{self.user}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop: close the socket (1000) or end the reconnect wait, then join."""
        self._stop.set()
        current = self._socket
        if current is not None:
            with contextlib.suppress(Exception):
                current.ws.send_close(websocket.STATUS_NORMAL, b"client stop")
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s if timeout_s is not None else self.settings.close_timeout_s + 1)
            if thread.is_alive() and current is not None:
                self._abort(current.ws)
                thread.join(self.settings.close_timeout_s)

    @property
    def connected(self) -> bool:
        return self.state is GlassesState.CONNECTED

    def drop_transport(self) -> bool:
        """Fault hook: break the TCP connection under the client (no close frame)."""
        current = self._socket
        if current is None:
            return False
        self._abort(current.ws)
        return True

    @staticmethod
    def _abort(ws: websocket.WebSocket) -> None:
        sock = ws.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # ------------------------------------------------------------------ reconnect loop

    def run(self) -> None:
        """The reconnect loop; returns after ``stop()`` or when the policy gives up."""
        try:
            while not self._stop.is_set():
                code, reason = self._attempt()
                if self._stop.is_set():
                    break
                if self._lost_at is None:
                    self._lost_at = (self._clock(), self._clock_ns(), self._h.conn)
                decision = self._retry.on_close(code, reason)
                if decision.action is not RetryAction.RECONNECT or decision.delay_s is None:
                    self._h.record(
                        EventKind.GIVE_UP, Outcome.FAIL, attempts=self._retry.failures,
                        reason=reason, code=code,
                    )
                    self.state = GlassesState.GAVE_UP
                    return
                self._h.record(
                    EventKind.RECONNECT_WAIT, Outcome.INFO,
                    attempt=decision.attempt, delay_s=round(decision.delay_s, 6),
                )
                self.state = GlassesState.WAITING
                self._stop.wait(decision.delay_s)
        except Exception:  # a bug: never let a greenlet die silently
            logger.exception("load glasses %s failed", self.user)
            raise
        finally:
            if self.state is not GlassesState.GAVE_UP:
                self.state = GlassesState.STOPPED

    def _attempt(self) -> tuple[int | None, str]:
        """One connection attempt and, if it opens, its whole session."""
        conn = self._h.next_conn()
        self.state = GlassesState.CONNECTING
        self._h.record(EventKind.CONNECT, Outcome.INVOKE)
        start = self._clock()
        try:
            ws = websocket.create_connection(
                self.settings.cloud_url,
                header=[f"Authorization: Bearer {self._token}"],
                timeout=self.settings.open_timeout_s,
                enable_multithread=True,
                skip_utf8_validation=True,
            )
        except websocket.WebSocketBadStatusException as exc:
            why = f"HTTP {exc.status_code}"
            self._fail_connect(start, why, status=exc.status_code)
            return None, why
        except (OSError, websocket.WebSocketException) as exc:
            why = f"{type(exc).__name__}: {exc}"
            self._fail_connect(start, why)
            return None, why
        elapsed_ms = (self._clock() - start) * 1000
        if self._stop.is_set():  # stop() came while dialling: nobody will close this one
            with contextlib.suppress(Exception):
                ws.close(status=websocket.STATUS_NORMAL, timeout=self.settings.close_timeout_s)
            self._h.record(EventKind.CONNECT, Outcome.INFO, error="stopped while connecting")
            return 1000, "client stop"
        self.sink.sample(Metric.CONNECT, elapsed_ms)
        self._h.record(EventKind.CONNECT, Outcome.OK, elapsed_ms=round(elapsed_ms, 3))
        self._retry.on_open()
        self.connects += 1
        ws.settimeout(None)
        current = _Socket(ws, conn, threading.Event(), threading.Event(), threading.Event())
        self._socket = current
        if self._stop.is_set():  # stop() ran between the check above and here
            with contextlib.suppress(Exception):
                ws.send_close(websocket.STATUS_NORMAL, b"client stop")
        self.state = GlassesState.OPEN
        ticker = threading.Thread(target=self._tick, args=(current,), daemon=True)
        ticker.start()
        try:
            code, reason, initiator = self._receive(current)
        finally:
            current.closed.set()
            current.settled.set()
            self._socket = None
            with contextlib.suppress(Exception):
                ws.shutdown()  # type: ignore[no-untyped-call]
            ticker.join()
        outcome = Outcome.OK if initiator == "self" else Outcome.INFO
        self._h.record(
            EventKind.CLOSE, outcome, code=code, reason=reason, initiator=initiator
        )
        return code, reason

    def _fail_connect(self, start: float, why: str, status: int | None = None) -> None:
        elapsed_ms = (self._clock() - start) * 1000
        self.sink.sample(Metric.CONNECT, elapsed_ms, error=why)
        if status in (401, 403):
            self._h.record(EventKind.AUTH, Outcome.FAIL, status=status)
        self._h.record(EventKind.CONNECT, Outcome.FAIL, error=why, status=status)

    # ------------------------------------------------------------------ receiving

    def _receive(self, current: _Socket) -> tuple[int | None, str, str]:
        """Read frames until the socket ends; returns (code, reason, initiator)."""
        ws = current.ws
        while True:
            try:
                opcode, frame = ws.recv_data_frame()
            except (OSError, websocket.WebSocketException):
                if self._stop.is_set():
                    return 1000, "client stop", "self"
                return 1006, "", "network"
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                data = frame.data
                code = int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
                reason = data[2:].decode("utf-8", "replace")
                if self._stop.is_set():
                    return code, "client stop", "self"
                return code, reason, "peer"
            if opcode == websocket.ABNF.OPCODE_TEXT:
                data = frame.data
                text = data if isinstance(data, str) else bytes(data).decode("utf-8", "replace")
                self._on_text(current, text)

    def _on_text(self, current: _Socket, text: str) -> None:
        with self._lock:
            echoes = self.stats.echoes
            acked = self.inbox.feed(text)
            rtt = self.stats.rtt_ms[-1] if self.stats.echoes > echoes else None
        now = self._clock()
        if rtt is not None:
            self.sink.sample(Metric.ECHO, rtt)
        if acked and self._init_sent_at is not None:
            # The cloud may ack on open already; ``ack`` times init -> the ack after it.
            self.sink.sample(Metric.ACK, (now - self._init_sent_at) * 1000)
            self._init_sent_at = None
        if acked and not current.acked.is_set():
            self._on_ack(current, now)

    def _on_ack(self, current: _Socket, now: float) -> None:
        lost = self._lost_at
        if lost is not None:
            self._lost_at = None
            ms = (now - lost[0]) * 1000
            self.recoveries += 1
            self.sink.sample(Metric.RECONNECT, ms)
            self.sink.recovery(
                RecoverySample(
                    user=self.user, lost_ns=lost[1], reconnect_ms=round(ms, 3),
                    attempts=self._h.conn - lost[2], lost_conn=lost[2], worker=self.worker,
                )
            )
        self.state = GlassesState.CONNECTED
        current.acked.set()
        current.settled.set()

    # ------------------------------------------------------------------ sending

    def _send(self, current: _Socket, payload: str | bytes) -> bool:
        try:
            if isinstance(payload, bytes):
                current.ws.send_bytes(payload)
            else:
                current.ws.send_text(payload)
        except (OSError, websocket.WebSocketException):
            return False
        return True

    def _tick(self, current: _Socket) -> None:
        """Init after the policy's delay, then apps, sensor streams and probes, each on
        its own schedule, until the socket ends."""
        now = self._clock()
        due: list[tuple[float, str]] = [(now + self.settings.policy.init_delay_s, _INIT)]
        while not current.closed.is_set():
            when, what = due[0]
            wait = when - self._clock()
            if wait > 0 and current.closed.wait(wait):
                return
            if what == _INIT:
                heapq.heappop(due)
                if not self._send_init(current):
                    return
                current.settled.wait()  # set on ack or close
                if current.closed.is_set():
                    return
                self._start_apps(current)
                for stream, rate in self.settings.rates.enabled():
                    first = self._clock() + self._phase[stream] / rate
                    heapq.heappush(due, (first, stream.value))
                if self.settings.probe_interval_s > 0:
                    first = self._clock() + self._probe_phase * self.settings.probe_interval_s
                    heapq.heappush(due, (first, _PROBE))
                if not due:
                    current.closed.wait()
                    return
                continue
            heapq.heappop(due)
            if what == _PROBE:
                interval = self.settings.probe_interval_s
                ok = self._send_probe(current) if self.apps_running else True
            else:
                stream = SensorStream(what)
                interval = 1.0 / dict(self.settings.rates.enabled())[stream]
                ok = self._send_stream(current, stream)
            if not ok:
                return
            heapq.heappush(due, (max(when + interval, self._clock() - interval), what))

    def _send_init(self, current: _Socket) -> bool:
        now_ns = self._clock_ns()
        message = ConnectionInit(
            core_token=self._token, user_id=self.user, timestamp=now_ns // 1_000_000
        )
        self._h.record(EventKind.INIT, Outcome.INVOKE)
        with self._lock:
            self.inbox.init_sent(now_ns)
        self._init_sent_at = self._clock()
        if not self._send(current, serialise(message)):
            self._h.record(EventKind.INIT, Outcome.FAIL, error="socket closed")
            return False
        return True

    def _start_apps(self, current: _Socket) -> None:
        while self._apps_to_start:
            package = self._apps_to_start[0]
            self._h.record(EventKind.START_APP, Outcome.INVOKE, package=package)
            with self._lock:
                self.inbox.app_command_sent(package, start=True)
            if not self._send(current, serialise(StartApp(package_name=package))):
                with self._lock:
                    self.inbox.app_command_lost(package, start=True)
                self._h.record(EventKind.START_APP, Outcome.FAIL, package=package, error="closed")
                return
            self._apps_to_start.pop(0)

    def _send_stream(self, current: _Socket, stream: SensorStream) -> bool:
        sent_ns = self._clock_ns()
        with self._lock:
            payload, seq = self.source.make(stream, sent_ns)
        if self._send(current, payload):
            self.stats.sent += 1
            self._h.record(
                EventKind.SEND, Outcome.OK, user=self.user, stream=stream.value, seq=seq,
                sent_ns=sent_ns,
            )
            return True
        self.stats.send_failed += 1
        self._h.record(
            EventKind.SEND, Outcome.FAIL, user=self.user, stream=stream.value, seq=seq,
            error="closed",
        )
        return False

    def _send_probe(self, current: _Socket) -> bool:
        self._expire_probes()
        sent_ns = self._clock_ns()
        with self._lock:
            payload, seq = self.source.make_probe(sent_ns)
            self.inbox.probe_sent(seq, sent_ns)  # before the send: the echo can be fast
        if self._send(current, payload):
            self.stats.probes += 1
            self._probe_sent_at[seq] = self._clock()
            self._h.record(
                EventKind.PROBE, Outcome.INVOKE, user=self.user, stream=PROBE_STREAM, seq=seq,
                sent_ns=sent_ns,
            )
            return True
        with self._lock:
            self.inbox.pending_probes.pop(seq, None)
        self._h.record(
            EventKind.PROBE, Outcome.FAIL, user=self.user, stream=PROBE_STREAM, seq=seq,
            error="closed",
        )
        return False

    @property
    def apps_running(self) -> bool:
        """Every configured app was started and the cloud showed it running."""
        with self._lock:
            return not self._apps_to_start and not self.inbox.starting

    def send_probe(self) -> bool:
        """Send one echo probe now. False (nothing sent) if not connected, while the apps
        are still starting (nobody could answer yet), or if the send failed."""
        current = self._socket
        if current is None or not current.acked.is_set() or not self.apps_running:
            return False
        return self._send_probe(current)

    def _expire_probes(self) -> None:
        """Report probes unanswered for ``probe_timeout_s`` as ``echo`` failures."""
        now = self._clock()
        with self._lock:
            pending = self.inbox.pending_probes
            for seq in [s for s in self._probe_sent_at if s not in pending]:
                del self._probe_sent_at[seq]
            expired = [
                s for s, at in self._probe_sent_at.items() if now - at > self.probe_timeout_s
            ]
            for seq in expired:
                del self._probe_sent_at[seq]
                pending.pop(seq, None)
        if self.stats.echoes == 0:
            # Until the first echo this user's path is not shown to work yet (the app may
            # still be subscribing): an unanswered probe then is not a measurement.
            return
        for _ in expired:
            self.sink.sample(Metric.ECHO, self.probe_timeout_s * 1000, error="no echo")
