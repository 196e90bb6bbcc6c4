"""The cloud's mutable state records: one :class:`UserSession` per email, one
:class:`AppRecord` per (user, package). State changes go through ``set_state``, which
rejects illegal transitions with ``IllegalTransition`` (PROTOCOL.md §9.2, §9.3)."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from wsquake.cloud.display import DisplayManager
from wsquake.cloud.settings import AppEntry
from wsquake.cloud.transport import Connection
from wsquake.protocol.lifecycle import (
    AppState,
    SessionState,
    check_app_transition,
    check_session_transition,
)
from wsquake.protocol.streams import Subscription

__all__ = ["ACTIVE_APP_STATES", "AppRecord", "Transcriber", "UserSession"]

ACTIVE_APP_STATES = frozenset(
    {AppState.LOADING, AppState.RUNNING, AppState.GRACE_PERIOD, AppState.RESURRECTING}
)
"""States in which a ``tpa_connection_init`` is accepted (§6.1 check 5)."""


def _cancel(handle: asyncio.TimerHandle | asyncio.Task[Any] | None) -> None:
    if handle is not None:
        handle.cancel()


@dataclass(eq=False, slots=True)
class AppRecord:
    user_id: str
    package: str
    session_id: str
    entry: AppEntry | None  # None for the built-in dashboard
    state: AppState | None = None
    conn: Connection | None = None  # the bound socket (socket identity)
    sockets: set[Connection] = field(default_factory=set)  # every open socket for this id
    subscriptions: tuple[Subscription, ...] = ()
    started_at: float | None = None  # wall clock
    resurrections: int = 0
    webhook_sent: bool = False
    start_failed: bool = False
    generation: int = 0  # bumps on every start/stop so stale callbacks do nothing
    start_timer: asyncio.TimerHandle | None = None
    grace_timer: asyncio.TimerHandle | None = None
    grace_expires_at: float | None = None  # wall clock
    start_task: asyncio.Task[None] | None = None
    stop_task: asyncio.Task[None] | None = None
    start_after_stop: bool = False
    ownership_released: str | None = None
    dashboard_content: Any = None  # the app's last dashboard_content_update (optional)
    buffer: deque[str | bytes] = field(default_factory=deque)

    @property
    def builtin(self) -> bool:
        return self.entry is None

    def set_state(self, new: AppState) -> None:
        check_app_transition(self.state, new)
        self.state = new

    def cancel_timers(self) -> None:
        _cancel(self.start_timer)
        _cancel(self.grace_timer)
        self.start_timer = self.grace_timer = None
        self.grace_expires_at = None


@dataclass(slots=True)
class Transcriber:
    """Synthetic transcriber (§4): one final segment per ``segment_bytes`` of audio."""

    segment_bytes: int
    pending: int = 0
    first_frame: int | None = None
    last_frame: int | None = None
    audio_ms: float = 0.0
    segment_start_ms: float = 0.0

    def feed(self, frame: bytes) -> tuple[str, float, float] | None:
        """Feed one PCM frame; return (text, start_ms, end_ms) when a segment completes."""
        counter = int.from_bytes(frame[:4], "little") if len(frame) >= 4 else None
        if counter is not None:
            if self.first_frame is None:
                self.first_frame = counter
            self.last_frame = counter
        self.pending += len(frame)
        self.audio_ms += len(frame) / 32.0  # s16le mono 16 kHz = 32 bytes per ms
        if self.pending < self.segment_bytes:
            return None
        text = f"frames {self.first_frame}-{self.last_frame}"
        result = (text, self.segment_start_ms, self.audio_ms)
        self.pending = 0
        self.first_frame = self.last_frame = None
        self.segment_start_ms = self.audio_ms
        return result

    def reset(self) -> None:
        self.pending = 0
        self.first_frame = self.last_frame = None


@dataclass(eq=False, slots=True)
class UserSession:
    user_id: str
    display: DisplayManager
    transcriber: Transcriber
    created_at: float  # wall clock
    state: SessionState | None = None
    glasses: Connection | None = None  # the current glasses socket
    glasses_sockets: set[Connection] = field(default_factory=set)  # every open one
    disconnected_at: float | None = None  # wall clock
    grace_timer: asyncio.TimerHandle | None = None
    apps: dict[str, AppRecord] = field(default_factory=dict)
    location: dict[str, Any] | None = None
    calendar: list[dict[str, Any]] = field(default_factory=list)
    transcription_active: bool = True
    mic_sent: bool | None = False  # last microphone state sent (the mic starts off)
    mic_sent_at: float | None = None  # monotonic
    mic_timer: asyncio.TimerHandle | None = None
    disposed: asyncio.Event = field(default_factory=asyncio.Event)
    fresh: bool = True  # created, no connection_init handled yet (D10 reruns the starts)

    def set_state(self, new: SessionState) -> None:
        check_session_transition(self.state, new)
        self.state = new
