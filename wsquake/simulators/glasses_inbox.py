"""What a glasses client does with the frames the cloud sends it (sans-I/O: no sockets,
no asyncio; the wall clock is injected).

:class:`GlassesInbox` parses each text frame, records it in the history and keeps the
bookkeeping that spans sockets: the ``connection_init`` awaiting its ack, app starts and
stops awaiting ``app_state_change``, and echo probes awaiting their reply (round trip
from the probe's own ``sentNs``; a second reply for one probe is flagged ``duplicate``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from wsquake.history import BoundHistory, EventKind, Outcome
from wsquake.protocol import (
    AppStateChange,
    ConnectionAck,
    ConnectionError,
    DisplayEvent,
    ProtocolError,
    parse_cloud_to_glasses,
)
from wsquake.simulators.glasses_model import GlassesStats
from wsquake.simulators.probe import parse_echo

__all__ = ["GlassesInbox"]

logger = logging.getLogger(__name__)


def _names(apps: Iterable[Any] | Mapping[str, Any]) -> tuple[str, ...]:
    """``loadingApps`` is a list, or ``{}`` under upstream defect D11."""
    return tuple(str(name) for name in apps)


class GlassesInbox:
    """Cloud-to-glasses frames of one client, over all its sockets."""

    def __init__(
        self,
        user: str,
        history: BoundHistory,
        stats: GlassesStats,
        clock_ns: Callable[[], int],
    ) -> None:
        self.user = user
        self._h = history
        self._stats = stats
        self._clock_ns = clock_ns
        self.pending_probes: dict[int, int] = {}
        """Probe seq -> sent ns, for probes not answered yet."""
        self._pending_start: set[str] = set()
        self._pending_stop: set[str] = set()
        self._init_sent_ns: int | None = None

    @property
    def starting(self) -> frozenset[str]:
        """Apps whose ``start_app`` awaits an ``app_state_change`` showing them running."""
        return frozenset(self._pending_start)

    # -- what the client sent -----------------------------------------------------------

    def init_sent(self, sent_ns: int) -> None:
        """``connection_init`` went out: the next ack answers it."""
        self._init_sent_ns = sent_ns

    def probe_sent(self, seq: int, sent_ns: int) -> None:
        self.pending_probes[seq] = sent_ns

    def app_command_sent(self, package: str, *, start: bool) -> None:
        (self._pending_start if start else self._pending_stop).add(package)

    def app_command_lost(self, package: str, *, start: bool) -> None:
        (self._pending_start if start else self._pending_stop).discard(package)

    # -- what the cloud sent --------------------------------------------------------------

    def feed(self, text: str) -> bool:
        """Handle one text frame; True if it was a ``connection_ack``."""
        try:
            message = parse_cloud_to_glasses(text)
        except ProtocolError as exc:
            logger.debug("glasses %s: ignoring a frame: %s", self.user, exc)
            return False
        if isinstance(message, ConnectionAck):
            self._on_ack(message)
            return True
        if isinstance(message, DisplayEvent):
            self._on_display(message)
        elif isinstance(message, AppStateChange):
            self._on_app_state(message)
        elif isinstance(message, ConnectionError):
            self._h.record(EventKind.INIT, Outcome.FAIL, code=message.code, error=message.message)
        return False

    def _on_ack(self, ack: ConnectionAck) -> None:
        info = ack.user_session
        self._h.record(
            EventKind.ACK,
            Outcome.OK,
            user_session=info is not None,
            apps=len(info.active_app_sessions) if info is not None else None,
            start_time=str(info.start_time) if info and info.start_time is not None else None,
            # D11 evidence: recorded only when ``loadingApps`` was not a list
            loading_not_list=True if info is not None and not info.loading_apps_is_list else None,
        )
        if self._init_sent_ns is not None:
            latency = (self._clock_ns() - self._init_sent_ns) / 1e6
            self._init_sent_ns = None
            self._h.record(
                EventKind.INIT,
                Outcome.OK,
                latency_ms=round(latency, 3),
                user_session=info is not None,
            )
        if info is not None:
            self._resolve_apps(info.active_app_sessions, _names(info.loading_apps))

    def _on_display(self, display: DisplayEvent) -> None:
        probe = parse_echo(display)
        if probe is None:
            text = display.layout.get("text")
            self._h.record(
                EventKind.DISPLAY,
                Outcome.INFO,
                view=display.view,
                layout=display.layout_type,
                package=display.package_name,
                text=text[:120] if isinstance(text, str) else None,
            )
            return
        duplicate = self.pending_probes.pop(probe.seq, None) is None
        rtt_ms = round((self._clock_ns() - probe.sent_ns) / 1e6, 3)
        if not duplicate:
            self._stats.echoes += 1
            self._stats.rtt_ms.append(rtt_ms)
        self._h.record(
            EventKind.DISPLAY,
            Outcome.OK,
            view=display.view,
            package=display.package_name,
            probe_seq=probe.seq,
            rtt_ms=rtt_ms,
            duplicate=duplicate,
        )

    def _on_app_state(self, change: AppStateChange) -> None:
        info = change.user_session
        loading = _names(info.loading_apps)
        self._h.record(
            EventKind.APP_STATE,
            Outcome.OK,
            active=",".join(info.active_app_sessions),
            loading=",".join(loading),
            count=sum(len(streams) for streams in info.app_subscriptions.values()),
            loading_not_list=None if info.loading_apps_is_list else True,
        )
        self._resolve_apps(info.active_app_sessions, loading)

    def _resolve_apps(self, active: Iterable[str], loading: Iterable[str]) -> None:
        running = set(active)
        starting = set(loading)
        for package in sorted(self._pending_start & running):
            self._pending_start.discard(package)
            self._h.record(EventKind.START_APP, Outcome.OK, package=package)
        for package in sorted(self._pending_stop - running - starting):
            self._pending_stop.discard(package)
            self._h.record(EventKind.STOP_APP, Outcome.OK, package=package)
