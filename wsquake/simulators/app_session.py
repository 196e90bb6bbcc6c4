"""The SDK's ``AppSession`` (PROTOCOL.md §10.1) over the ``websockets`` asyncio client.

One :class:`AppSession` is one app's connection to the cloud for one user, with the
upstream SDK's rules, quirks included:

- ``connect()`` opens a socket, sends ``tpa_connection_init`` on open and waits
  ``ack_timeout_s`` for the ack. A timeout rejects the connect but neither closes the
  socket nor schedules a retry (a late ack still makes the session live).
- After every ack the session sends its full ``subscription_update``; on a fresh session
  that set is empty and each ``subscribe()`` sends one more update.
- A close is read with :class:`~wsquake.protocol.SdkRetry`: ``"User session ended"``
  terminates, 1000/1001/1008 or ``"App stopped"`` stop, anything else reconnects after
  1, 2, 4 s (x ``time_scale``) with the same session id and api key. Only the close of
  the current attempt advances the sequence, so a hung handshake stalls it (D14, switch
  ``hung_attempt_stalls``). When the attempts run out the session reports a permanent
  disconnect 4000 ``"Maximum reconnection attempts exceeded"``.
- ``send()`` fails unless the socket is OPEN, so displays made while reconnecting are
  lost (recorded as ``fail``). The session never pings; it answers pings.
- ``disconnect()`` closes without a status code (the cloud sees 1005) and never reports.

Every step is recorded as a typed :class:`~wsquake.history.events.HistoryEvent` with the
connection epoch (``conn``, 1 for the first socket, +1 per attempt).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.protocol import State

from wsquake.history import EventKind, History, NullHistory, Outcome, Scalar
from wsquake.protocol import (
    AppStopped,
    CloseCode,
    ConnectionError,
    DataStream,
    DisplayEvent,
    Message,
    OwnershipRelease,
    ParseError,
    SdkRetry,
    SubscriptionUpdate,
    TpaConnectionAck,
    TpaConnectionError,
    TpaConnectionInit,
    iso_timestamp,
    parse_cloud_to_app,
    serialise,
)
from wsquake.protocol.retry import Retry, RetryAction
from wsquake.simulators.app_model import (
    AckTimeout,
    AppSessionError,
    ConnectFailed,
    Disconnected,
    SessionConfig,
    SessionNotOpen,
    SessionPhase,
)

__all__ = [
    "AckTimeout",
    "AppSession",
    "AppSessionError",
    "ConnectFailed",
    "Disconnected",
    "SessionConfig",
    "SessionNotOpen",
    "SessionPhase",
    "StreamHandler",
]

logger = logging.getLogger(__name__)

StreamHandler: TypeAlias = Callable[["AppSession", DataStream], Awaitable[None] | None]
"""Called for each ``data_stream`` whose ``streamType`` equals the subscribed key."""


@dataclass(slots=True, eq=False)
class _Attempt:
    epoch: int
    ws: ClientConnection | None = None
    acked: asyncio.Future[None] | None = None
    task: asyncio.Task[None] | None = None
    abandoned: bool = False
    started: float = 0.0


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class AppSession:
    """One SDK ``AppSession``. Its tasks live in ``task_group`` (the app server's)."""

    def __init__(
        self,
        config: SessionConfig,
        *,
        session_id: str,
        user_id: str,
        ws_url: str | None,
        task_group: asyncio.TaskGroup,
        history: History | None = None,
        wall_ns: Callable[[], int] = time.time_ns,
        clock: Callable[[], float] = time.monotonic,
        next_epoch: Callable[[], int] | None = None,
    ) -> None:
        self.config = config
        self.session_id = session_id
        self.user_id = user_id
        self.ws_url = ws_url
        self._tg = task_group
        self._history: History = history if history is not None else NullHistory("app")
        self._wall_ns = wall_ns
        self._clock = clock
        self.retry = SdkRetry(config.policy)
        self.phase = SessionPhase.NEW
        self.epoch = 0
        self._next_epoch = next_epoch
        """The app server numbers epochs per session id, across replaced sessions."""
        self._current: _Attempt | None = None
        self._acked_attempt: _Attempt | None = None
        self._disposed = False
        self._permanent_sent = False
        self._reconnect_task: asyncio.Task[None] | None = None
        self._subscriptions: dict[str, str | Mapping[str, Any]] = {}
        self._handlers: dict[str, list[StreamHandler]] = {}
        self._disconnect_listeners: list[Callable[[AppSession, Disconnected], None]] = []
        self._connect_listeners: list[Callable[[AppSession], None]] = []
        self.settings: tuple[Mapping[str, Any], ...] = ()
        # counters for status lines and /health
        self.received = 0
        self.reconnects = 0
        self.lost_sends = 0
        self.last_seq: dict[str, int] = {}
        self.gaps = 0

    def __repr__(self) -> str:
        return f"<AppSession {self.session_id} conn={self.epoch} {self.phase.value}>"

    # --- observation ---------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """The current socket is OPEN (what ``send()`` needs)."""
        attempt = self._current
        return (
            attempt is not None
            and attempt.ws is not None
            and attempt.ws.protocol.state is State.OPEN
        )

    @property
    def is_live(self) -> bool:
        """OPEN and acked: the cloud routes this user's data here."""
        return self.is_open and self._acked_attempt is self._current

    @property
    def subscriptions(self) -> tuple[str | Mapping[str, Any], ...]:
        return tuple(self._subscriptions.values())

    def on_disconnected(self, listener: Callable[[AppSession, Disconnected], None]) -> None:
        self._disconnect_listeners.append(listener)

    def remove_disconnected(self, listener: Callable[[AppSession, Disconnected], None]) -> None:
        with contextlib.suppress(ValueError):
            self._disconnect_listeners.remove(listener)

    def on_connected(self, listener: Callable[[AppSession], None]) -> None:
        """Called on every ack (first connect and each reconnect)."""
        self._connect_listeners.append(listener)

    # --- recording -----------------------------------------------------------------------------

    def _emit(
        self, kind: EventKind, outcome: Outcome, *, conn: int | None = None, **fields: Scalar
    ) -> None:
        try:
            self._history.record(
                kind,
                outcome,
                client_id=self.session_id,
                session_id=self.session_id,
                conn=self.epoch if conn is None else conn,
                package=self.config.package_name,
                **fields,
            )
        except Exception:  # the history must never break the client
            logger.exception("%r: recording %s failed", self, kind.value)

    # --- connect -------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open a new socket and wait for the ack (``ack_timeout_s``).

        Raises :class:`AckTimeout` (the socket stays open, as in the SDK) or
        :class:`ConnectFailed` (no URL, or the session was disconnected).
        """
        if self._disposed:
            raise ConnectFailed(self.session_id, "session was disconnected")
        if not self.ws_url:
            raise ConnectFailed(self.session_id, "WebSocket URL is required")
        previous = self._current
        if previous is not None:
            # The SDK closes a socket it still holds before opening the next one; the old
            # socket's close is then ignored (abandoned).
            self._abandon(previous)
        self.epoch = self._next_epoch() if self._next_epoch is not None else self.epoch + 1
        loop = asyncio.get_running_loop()
        attempt = _Attempt(self.epoch, acked=loop.create_future(), started=self._clock())
        self._current = attempt
        self.phase = SessionPhase.CONNECTING
        attempt.task = self._tg.create_task(
            self._run_attempt(attempt), name=f"app-session:{self.session_id}:{attempt.epoch}"
        )
        timeout = self.config.policy.ack_timeout_s
        assert attempt.acked is not None
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(attempt.acked)
        except TimeoutError:
            self._emit(
                EventKind.INIT, Outcome.FAIL, conn=attempt.epoch, error="ack timeout"
            )
            raise AckTimeout(self.session_id, timeout) from None

    async def _run_attempt(self, attempt: _Attempt) -> None:
        url = self.ws_url
        assert url is not None
        self._emit(EventKind.CONNECT, Outcome.INVOKE, conn=attempt.epoch, url=url)
        stalls = self.config.hung_attempt_stalls
        try:
            ws = await connect(
                url,
                proxy=None,
                open_timeout=None if stalls else self.config.policy.ack_timeout_s,
                ping_interval=None,  # the SDK never pings (it answers pings)
                ping_timeout=None,
                close_timeout=self.config.policy.ack_timeout_s or None,
                max_size=self.config.max_message_bytes,
            )
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError, EOFError) as exc:
            # node's ws: 'error' then 'close' with 1006 for a refused or failed upgrade
            self._emit(
                EventKind.CONNECT,
                Outcome.FAIL,
                conn=attempt.epoch,
                url=url,
                error=f"{type(exc).__name__}: {exc}",
            )
            self._on_close(attempt, int(CloseCode.ABNORMAL), "")
            return
        attempt.ws = ws
        elapsed_ms = round((self._clock() - attempt.started) * 1000, 3)
        self._emit(EventKind.CONNECT, Outcome.OK, conn=attempt.epoch, url=url,
                   elapsed_ms=elapsed_ms)
        if attempt.abandoned or self._disposed:
            await self._close_ws(ws)
            return
        try:
            await self._send_on(
                ws,
                TpaConnectionInit(
                    session_id=self.session_id,
                    package_name=self.config.package_name,
                    api_key=self.config.api_key,
                    timestamp=iso_timestamp(self._wall_ns() / 1e9),
                ),
            )
            self._emit(EventKind.INIT, Outcome.INVOKE, conn=attempt.epoch)
            async for frame in ws:
                if isinstance(frame, str):
                    try:
                        await self._on_text(attempt, frame)
                    except ConnectionClosed:
                        raise
                    except Exception:
                        logger.exception("%r: message handling failed", self)
                # binary frames (audio) are counted by nobody here
        except ConnectionClosed:
            pass
        except Exception:  # a bug here must not take the app server's TaskGroup down
            logger.exception("%r: socket loop failed; dropping the socket", self)
            ws.transport.abort()
        finally:
            if not attempt.abandoned:
                # wait for the closing handshake so the peer's code is known
                with contextlib.suppress(Exception):
                    await asyncio.shield(ws.wait_closed())
        code = int(ws.close_code) if ws.close_code is not None else int(CloseCode.ABNORMAL)
        self._on_close(attempt, code, ws.close_reason or "")

    async def _send_on(self, ws: ClientConnection, message: Message) -> None:
        await ws.send(serialise(message))

    async def _close_ws(self, ws: ClientConnection) -> None:
        """Close without a status code, as node's ``ws.close()`` (the cloud sees 1005)."""
        with contextlib.suppress(Exception):
            await ws.close(None)  # type: ignore[arg-type]  # None = no status code

    # --- incoming --------------------------------------------------------------------------------

    async def _on_text(self, attempt: _Attempt, text: str) -> None:
        try:
            message = parse_cloud_to_app(text)
        except ParseError as exc:
            logger.info("%r: unparsable message from the cloud: %s", self, exc)
            self._emit(EventKind.NOTE, Outcome.INFO, conn=attempt.epoch,
                       text=f"bad message: {exc}")
            return
        if attempt is not self._current or attempt.abandoned:
            return
        if isinstance(message, DataStream):
            await self._on_data(attempt, message)
        elif isinstance(message, TpaConnectionAck):
            await self._on_ack(attempt, message)
        elif isinstance(message, TpaConnectionError | ConnectionError):
            # only an error event in the SDK; the 1008 close that follows ends it
            code = getattr(message, "code", None)
            self._emit(
                EventKind.INIT,
                Outcome.FAIL,
                conn=attempt.epoch,
                error=message.message,
                code=code if isinstance(code, str) else None,
                # the same code as text: history frames read ``code`` as a close code
                error_code=code if isinstance(code, str) else None,
            )
        elif isinstance(message, AppStopped):
            self.retry.on_app_stopped()
            self._emit(EventKind.APP_STOPPED, Outcome.INFO, conn=attempt.epoch,
                       reason=message.reason)

    async def _on_ack(self, attempt: _Attempt, ack: TpaConnectionAck) -> None:
        self.retry.on_ack()
        self.settings = ack.settings
        self._acked_attempt = attempt
        self.phase = SessionPhase.OPEN
        latency = round((self._clock() - attempt.started) * 1000, 3)
        self._emit(EventKind.INIT, Outcome.OK, conn=attempt.epoch, latency_ms=latency)
        self._emit(EventKind.ACK, Outcome.OK, conn=attempt.epoch, settings=len(ack.settings))
        if attempt.acked is not None and not attempt.acked.done():
            attempt.acked.set_result(None)
        for listener in list(self._connect_listeners):
            listener(self)
        await self._update_subscriptions()

    async def _on_data(self, attempt: _Attempt, message: DataStream) -> None:
        self.received += 1
        data = message.data if isinstance(message.data, Mapping) else {}
        seq = _as_int(data.get("seq"))
        sent_ns = _as_int(data.get("sentNs"))
        latency_ms = (
            round((self._wall_ns() - sent_ns) / 1e6, 3) if sent_ns is not None else None
        )
        stream = message.stream_type
        if seq is not None:
            last = self.last_seq.get(stream)
            if last is not None and seq > last + 1:
                self.gaps += seq - last - 1
            if last is None or seq > last:
                self.last_seq[stream] = seq
        self._emit(
            EventKind.RECEIVE,
            Outcome.OK,
            conn=attempt.epoch,
            user=self.user_id,
            stream=stream,
            seq=seq,
            latency_ms=latency_ms,
        )
        for handler in list(self._handlers.get(stream, ())):
            try:
                result = handler(self, message)
                if result is not None:
                    await result
            except AppSessionError as exc:
                logger.info("%r: handler for %s failed: %s", self, stream, exc)
            except Exception:
                logger.exception("%r: handler for %s failed", self, stream)

    # --- closes and reconnects -----------------------------------------------------------------

    def _abandon(self, attempt: _Attempt) -> None:
        attempt.abandoned = True
        ws = attempt.ws
        if ws is not None and ws.protocol.state is not State.CLOSED:
            self._tg.create_task(self._close_ws(ws))
        elif ws is None and attempt.task is not None:
            attempt.task.cancel()

    def _on_close(self, attempt: _Attempt, code: int, reason: str) -> None:
        if attempt.abandoned or attempt is not self._current or self._disposed:
            # a stale onclose never starts a second reconnect loop (§10 "All profiles")
            self._emit(EventKind.CLOSE, Outcome.INFO, conn=attempt.epoch, code=code,
                       reason=reason, initiator="self")
            return
        if self._acked_attempt is attempt:
            self._acked_attempt = None
        initiator = "network" if code == CloseCode.ABNORMAL else "peer"
        self._emit(EventKind.CLOSE, Outcome.INFO, conn=attempt.epoch, code=code,
                   reason=reason, initiator=initiator)
        self._notify(Disconnected(code, reason, was_clean=code in (1000, 1001)))
        decision = self.retry.on_close(code, reason)
        if decision.action is RetryAction.RECONNECT:
            self.phase = SessionPhase.WAITING
            self._reconnect_task = self._tg.create_task(
                self._reconnect(decision), name=f"app-reconnect:{self.session_id}"
            )
        elif decision.action is RetryAction.GIVE_UP:
            self._give_up()
        else:
            self.phase = SessionPhase.STOPPED
            if decision.terminated:
                self._notify(
                    Disconnected(1000, "User session ended", was_clean=True, permanent=True,
                                 session_ended=True)
                )

    def _give_up(self) -> None:
        self.phase = SessionPhase.GAVE_UP
        if self._permanent_sent:
            return
        self._permanent_sent = True
        self._emit(
            EventKind.GIVE_UP,
            Outcome.FAIL,
            attempts=self.retry.attempts,
            code=int(CloseCode.MAX_RECONNECTS),
            reason="Maximum reconnection attempts exceeded",
        )
        self._notify(
            Disconnected(
                int(CloseCode.MAX_RECONNECTS),
                "Maximum reconnection attempts exceeded",
                permanent=True,
            )
        )

    async def _reconnect(self, decision: Retry) -> None:
        assert decision.delay_s is not None and decision.attempt is not None
        self._emit(EventKind.RECONNECT_WAIT, Outcome.INFO, attempt=decision.attempt,
                   delay_s=decision.delay_s)
        await asyncio.sleep(decision.delay_s)
        if self._disposed:
            return
        self.reconnects += 1
        try:
            await self.connect()
        except ConnectFailed as exc:
            logger.info("%r: reconnection attempt %d failed: %s", self, decision.attempt, exc)
            if self.retry.attempts >= self.config.policy.max_attempts:
                self._give_up()
            elif not self.config.hung_attempt_stalls:
                attempt = self._current
                if attempt is not None and attempt.ws is not None:
                    attempt.ws.transport.abort()  # its 1006 close starts the next attempt
                elif attempt is not None and attempt.task is not None:
                    attempt.task.cancel()  # hung in the handshake: fail it as node would
                    self._on_close(attempt, int(CloseCode.ABNORMAL), "")

    def _notify(self, info: Disconnected) -> None:
        for listener in list(self._disconnect_listeners):
            try:
                listener(self, info)
            except Exception:
                logger.exception("%r: disconnected listener failed", self)

    # --- outgoing --------------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        """Send one message; :class:`SessionNotOpen` unless the socket is OPEN."""
        attempt = self._current
        ws = attempt.ws if attempt is not None else None
        if ws is None:
            raise SessionNotOpen(self.session_id, "CONNECTING" if attempt else "NONE")
        state = ws.protocol.state
        if state is not State.OPEN:
            raise SessionNotOpen(self.session_id, state.name)
        try:
            await self._send_on(ws, message)
        except ConnectionClosed as exc:
            raise SessionNotOpen(self.session_id, "CLOSED") from exc

    async def send_display(
        self,
        layout: Mapping[str, Any],
        *,
        view: str = "main",
        seq: int | None = None,
        stream: str = "display",
    ) -> bool:
        """Send a ``display_event``; record ``send`` ok, or fail when the socket is not
        OPEN (the display is lost, as in the SDK). ``seq`` ties it to a probe."""
        message = DisplayEvent(
            package_name=self.config.package_name,
            view=view,
            layout=layout,
            session_id="",  # as the SDK's layouts manager
            timestamp=iso_timestamp(self._wall_ns() / 1e9),
        )
        try:
            await self.send(message)
        except SessionNotOpen as exc:
            self.lost_sends += 1
            self._emit(EventKind.SEND, Outcome.FAIL, user=self.user_id, stream=stream,
                       seq=seq, error=str(exc))
            return False
        self._emit(EventKind.SEND, Outcome.OK, user=self.user_id, stream=stream, seq=seq)
        return True

    async def show_text(self, text: str, *, seq: int | None = None) -> bool:
        """``text_wall{text}`` on the main view (see :meth:`send_display`)."""
        return await self.send_display({"layoutType": "text_wall", "text": text}, seq=seq)

    async def subscribe(
        self, stream: str | Mapping[str, Any], handler: StreamHandler | None = None
    ) -> None:
        """Add a stream (and its handler) as the SDK's ``on<Stream>`` does: one more
        ``subscription_update`` with the whole set if the socket is OPEN."""
        key = stream if isinstance(stream, str) else str(stream.get("stream"))
        if handler is not None:
            self._handlers.setdefault(key, []).append(handler)
        self._subscriptions[key] = stream
        if self.is_open:
            await self._update_subscriptions()

    async def _update_subscriptions(self) -> None:
        entries = tuple(self._subscriptions.values())
        names = ",".join(sorted(self._subscriptions))
        message = SubscriptionUpdate(
            package_name=self.config.package_name,
            subscriptions=entries,
            session_id=self.session_id,
            timestamp=iso_timestamp(self._wall_ns() / 1e9),
        )
        try:
            await self.send(message)
        except SessionNotOpen as exc:
            self._emit(EventKind.SUBSCRIBE, Outcome.FAIL, streams=names, count=len(entries),
                       error=str(exc))
            return
        self._emit(EventKind.SUBSCRIBE, Outcome.INVOKE, streams=names, count=len(entries))

    async def release_ownership(self, reason: str) -> None:
        """``ownership_release`` if OPEN (the SDK then waits 100 ms; we do not)."""
        if not self.is_open:
            return
        self._emit(EventKind.NOTE, Outcome.INFO, text=f"ownership_release {reason}")
        with contextlib.suppress(SessionNotOpen):
            await self.send(
                OwnershipRelease(
                    reason=reason,
                    package_name=self.config.package_name,
                    session_id=self.session_id,
                    timestamp=iso_timestamp(self._wall_ns() / 1e9),
                )
            )

    async def disconnect(self, *, release_ownership: str | None = None) -> None:
        """The SDK's ``disconnect()``: optional ``ownership_release``, then close without
        a status code. No events follow (the listeners are detached first)."""
        if release_ownership is not None:
            await self.release_ownership(release_ownership)
        if self._disposed:
            return
        self._disposed = True
        self.phase = SessionPhase.DISCONNECTED
        self._disconnect_listeners.clear()
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
        attempt = self._current
        if attempt is None:
            return
        attempt.abandoned = True
        if attempt.ws is not None:
            self._emit(EventKind.CLOSE, Outcome.INVOKE, conn=attempt.epoch, code=1005,
                       initiator="self")
            # node's ws.close() does not wait for the closing handshake; neither do we
            self._tg.create_task(self._close_ws(attempt.ws))
        elif attempt.task is not None:
            attempt.task.cancel()

    def abort_transport(self) -> bool:
        """Drop the current socket at the TCP level (a test fault): both ends see the
        connection lost without a close frame (1006). False if there is no socket."""
        attempt = self._current
        if attempt is None or attempt.ws is None:
            return False
        attempt.ws.transport.abort()
        return True
