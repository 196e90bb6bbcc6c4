"""Lifecycle state machines as pure tables (spec §9.2 user session, §9.3 app A1-A6).

The cloud keeps the state; this module only answers "is this move legal" and raises
:class:`IllegalTransition` naming both ends when it is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from wsquake.protocol.exceptions import IllegalTransition

__all__ = [
    "APP_TRANSITIONS",
    "SESSION_TRANSITIONS",
    "AppState",
    "SessionState",
    "TpaState",
    "app_transition_allowed",
    "check_app_transition",
    "check_session_transition",
    "session_transition_allowed",
    "tpa_state_for",
]


class SessionState(StrEnum):
    """User session (seed ``SessionState``)."""

    INITIALIZING = "INITIALIZING"
    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    DISCONNECTING = "DISCONNECTING"
    DISCONNECTED = "DISCONNECTED"
    ERROR = "ERROR"


class AppState(StrEnum):
    """App per (user, package); upstream's names (§9.3)."""

    LOADING = "loading"
    RUNNING = "running"
    GRACE_PERIOD = "grace_period"
    RESURRECTING = "resurrecting"
    STOPPING = "stopping"
    DISCONNECTED = "disconnected"


class TpaState(StrEnum):
    """The seed's ``TpaState``, reported as ``tpaState`` by ``/api/sessions``."""

    LOADING = "LOADING"
    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    DISCONNECTED = "DISCONNECTED"
    ERROR = "ERROR"


_S = SessionState
SESSION_TRANSITIONS: Mapping[SessionState | None, frozenset[SessionState]] = {
    # - -> INITIALIZING: first authenticated upgrade for an email.
    None: frozenset({_S.INITIALIZING}),
    # INITIALIZING -> CONNECTED at once; admin kill or an internal failure otherwise.
    _S.INITIALIZING: frozenset({_S.CONNECTED, _S.DISCONNECTING, _S.ERROR}),
    # CONNECTED -> CONNECTED: a new glasses socket replaces the old one.
    _S.CONNECTED: frozenset({_S.CONNECTED, _S.CONNECTING, _S.DISCONNECTING, _S.ERROR}),
    # CONNECTING: reconnect within grace, or grace expired (dispose).
    _S.CONNECTING: frozenset({_S.CONNECTED, _S.DISCONNECTING, _S.ERROR}),
    _S.DISCONNECTING: frozenset({_S.DISCONNECTED, _S.ERROR}),
    # ERROR goes straight to DISCONNECTING (dispose).
    _S.ERROR: frozenset({_S.DISCONNECTING}),
    _S.DISCONNECTED: frozenset(),
}

_A = AppState
APP_TRANSITIONS: Mapping[AppState | None, frozenset[AppState]] = {
    # A1: no entry or disconnected -> loading.
    None: frozenset({_A.LOADING}),
    _A.DISCONNECTED: frozenset({_A.LOADING}),
    # A2 (init), A3 (start timeout / webhook failed), A6 (stop).
    _A.LOADING: frozenset({_A.RUNNING, _A.DISCONNECTED, _A.STOPPING}),
    # A2 (superseding init), A4 (socket lost), A6.
    _A.RUNNING: frozenset({_A.RUNNING, _A.GRACE_PERIOD, _A.STOPPING}),
    # A2 (SDK reconnected), A5 (grace expired), A6.
    _A.GRACE_PERIOD: frozenset({_A.RUNNING, _A.RESURRECTING, _A.STOPPING}),
    # A2 (new init), A3 (restart failed), A6.
    _A.RESURRECTING: frozenset({_A.RUNNING, _A.DISCONNECTED, _A.STOPPING}),
    # A6: the stop procedure ends in disconnected.
    _A.STOPPING: frozenset({_A.DISCONNECTED}),
}


def session_transition_allowed(from_state: SessionState | None, to_state: SessionState) -> bool:
    return to_state in SESSION_TRANSITIONS.get(from_state, frozenset())


def app_transition_allowed(from_state: AppState | None, to_state: AppState) -> bool:
    return to_state in APP_TRANSITIONS.get(from_state, frozenset())


def check_session_transition(from_state: SessionState | None, to_state: SessionState) -> None:
    """Raise :class:`IllegalTransition` unless §9.2 allows ``from_state -> to_state``
    (``None`` = no session yet)."""
    if not session_transition_allowed(from_state, to_state):
        raise IllegalTransition("session", from_state, to_state)


def check_app_transition(from_state: AppState | None, to_state: AppState) -> None:
    """Raise :class:`IllegalTransition` unless §9.3 allows ``from_state -> to_state``
    (``None`` = no app entry yet)."""
    if not app_transition_allowed(from_state, to_state):
        raise IllegalTransition("app", from_state, to_state)


def tpa_state_for(
    state: AppState, *, webhook_sent: bool = True, start_failed: bool = False
) -> TpaState | None:
    """Map an :class:`AppState` to the seed's ``TpaState`` (§9.3 table).

    ``loading`` is ``LOADING`` before the webhook POST and ``CONNECTING`` after it;
    ``disconnected`` is ``ERROR`` after a failed start and ``None`` (no entry) after a
    stop; ``stopping`` (the seed's "user stop request") reports ``DISCONNECTED``.
    """
    if state is AppState.LOADING:
        return TpaState.CONNECTING if webhook_sent else TpaState.LOADING
    if state is AppState.DISCONNECTED:
        return TpaState.ERROR if start_failed else None
    return _TPA[state]


_TPA: Mapping[AppState, TpaState] = {
    AppState.RUNNING: TpaState.CONNECTED,
    AppState.GRACE_PERIOD: TpaState.DISCONNECTED,
    AppState.RESURRECTING: TpaState.CONNECTING,
    AppState.STOPPING: TpaState.DISCONNECTED,
}
