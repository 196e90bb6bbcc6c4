"""Values and errors shared by the app-server simulators (``app_session``,
``app_server``, ``app_fleet``): settings, phases, the ``disconnected`` event, the app
protocol, statistics.

Error tree::

    AppSimulatorError            base of every app-simulator error
    ├── AppSessionError          an app session operation failed
    │   ├── ConnectFailed        connect() did not reach the ack (no URL, disconnected)
    │   │   └── AckTimeout       no tpa_connection_ack within ack_timeout_s (socket stays open)
    │   └── SessionNotOpen       send() while the socket is not OPEN (the SDK's throw)
    └── AppServerError           an app server operation failed (e.g. HTTP server start)
        └── RegistrationFailed   the cloud refused or did not answer the TPA registration

Bad settings raise :class:`wsquake.config.ConfigError` naming the key.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from wsquake.config import ConfigError
from wsquake.protocol import SdkAppPolicy

if TYPE_CHECKING:
    from wsquake.simulators.app_session import AppSession

__all__ = [
    "AckTimeout",
    "App",
    "AppServerError",
    "AppServerSettings",
    "AppServerStats",
    "AppSessionError",
    "AppSimulatorError",
    "ConnectFailed",
    "Disconnected",
    "RegistrationFailed",
    "SdkProfile",
    "SessionConfig",
    "SessionNotOpen",
    "SessionPhase",
    "SubscriberApp",
]

# --- errors -----------------------------------------------------------------------------------


class AppSimulatorError(Exception):
    """Base of every error of the app-server simulators (tree in the module docstring)."""


class AppSessionError(AppSimulatorError):
    """An app session operation failed."""


class ConnectFailed(AppSessionError):
    def __init__(self, session_id: str, problem: str) -> None:
        super().__init__(f"{session_id}: connect failed: {problem}")
        self.session_id = session_id
        self.problem = problem


class AckTimeout(ConnectFailed):
    def __init__(self, session_id: str, timeout_s: float) -> None:
        super().__init__(session_id, f"no tpa_connection_ack within {timeout_s:.3f} s")
        self.timeout_s = timeout_s


class SessionNotOpen(AppSessionError):
    """The SDK's ``WebSocket not connected (current state: …)``."""

    def __init__(self, session_id: str, state: str) -> None:
        super().__init__(f"{session_id}: WebSocket not connected (current state: {state})")
        self.session_id = session_id
        self.state = state


# --- values -----------------------------------------------------------------------------------


class SessionPhase(StrEnum):
    """Where the session is (observability; the SDK keeps no such field)."""

    NEW = "new"
    CONNECTING = "connecting"
    OPEN = "open"
    """Socket open and acked."""
    WAITING = "waiting"
    """Waiting the delay before a reconnect attempt."""
    STOPPED = "stopped"
    """The close said not to reconnect (1000/1001/1008, "App stopped", session ended)."""
    GAVE_UP = "gave_up"
    """Permanent disconnect 4000."""
    DISCONNECTED = "disconnected"
    """``disconnect()`` was called."""


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The SDK's ``disconnected`` event."""

    code: int
    reason: str
    was_clean: bool = False
    permanent: bool = False
    session_ended: bool = False


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """What every session of one app server shares."""

    package_name: str
    api_key: str
    policy: SdkAppPolicy = field(default_factory=SdkAppPolicy)
    """Already scaled: ``ack_timeout_s``, ``base_delay_s``, ``max_attempts``."""
    hung_attempt_stalls: bool = True
    """D14 (upstream behaviour): an attempt that times out waiting for its ack is not
    closed, so only its eventual close advances the sequence. False: such an attempt is
    aborted (a 1006 close) and the next one follows."""
    max_message_bytes: int = 1 << 20


class AppServerError(AppSimulatorError):
    """An app server operation failed."""


class RegistrationFailed(AppServerError):
    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"registration at {url} failed: {problem}")
        self.url = url
        self.problem = problem


# --- server values --------------------------------------------------------------------------


class SdkProfile(StrEnum):
    SDK_2_1 = "sdk_2_1"
    """@mentra/sdk 2.1.29 (default)."""
    SDK_2_0 = "sdk_2_0"
    """mid-2025 SDK: every close drops the map entry; no replacement (D6)."""


def _positive(key: str, value: Any, *, zero_ok: bool = True) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(key, f"expected a finite number, got {value!r}")
    if value < 0 or (value == 0 and not zero_ok):
        raise ConfigError(key, f"expected a number {'>=' if zero_ok else '>'} 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class AppServerSettings:
    """One simulated app server. Durations are protocol seconds, multiplied by
    ``time_scale`` (the webhook delay included)."""

    package_name: str
    api_key: str
    host: str = "127.0.0.1"
    port: int = 0
    public_url: str | None = None
    """Base URL the cloud reaches this server at (default ``http://<public_host>:<port>``)."""
    public_host: str | None = None
    """Host for the default public URL (default: ``host``; 127.0.0.1 for a wildcard)."""
    profile: SdkProfile = SdkProfile.SDK_2_1
    time_scale: float = 1.0
    ack_timeout_s: float = 5.0
    max_reconnect_attempts: int = 3
    reconnect_delay_s: float = 1.0
    hung_attempt_stalls: bool = True
    subscriptions: tuple[str, ...] = ()
    """Streams the default app subscribes in ``on_session``."""
    register_with: str | None = None
    """Cloud base URL (``http://host:port``) to register with as a TPA server."""
    server_urls: tuple[str, ...] = ()
    """``serverUrls`` for the registration; default ``ws://<cloud>/app-ws``."""
    heartbeat_interval_s: float = 60.0
    webhook_delay_s: float = 0.0
    duplicate_settle_s: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.package_name, str) or not self.package_name.strip():
            raise ConfigError("package_name", "must be a non-empty string")
        if not isinstance(self.api_key, str) or not self.api_key:
            raise ConfigError("api_key", "must be a non-empty string")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not (
            0 <= self.port <= 65535
        ):
            raise ConfigError("port", f"expected an integer 0-65535, got {self.port!r}")
        try:
            object.__setattr__(self, "profile", SdkProfile(self.profile))
        except ValueError:
            raise ConfigError(
                "profile", f"expected sdk_2_1 or sdk_2_0, got {self.profile!r}"
            ) from None
        _positive("time_scale", self.time_scale, zero_ok=False)
        for key in ("ack_timeout_s", "reconnect_delay_s", "webhook_delay_s",
                    "duplicate_settle_s"):
            _positive(key, getattr(self, key))
        _positive("heartbeat_interval_s", self.heartbeat_interval_s, zero_ok=False)
        attempts = self.max_reconnect_attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 0:
            raise ConfigError(
                "max_reconnect_attempts", f"expected an integer >= 0, got {attempts!r}"
            )
        for key in ("register_with", "public_url"):
            value = getattr(self, key)
            if value is not None and not str(value).startswith(("http://", "https://")):
                raise ConfigError(key, f"expected an http(s) URL, got {value!r}")
        for url in self.server_urls:
            if not url.startswith(("ws://", "wss://")):
                raise ConfigError("server_urls", f"expected ws(s) URLs, got {url!r}")

    def policy(self) -> SdkAppPolicy:
        """The SDK policy with ``time_scale`` applied."""
        return SdkAppPolicy(
            max_attempts=self.max_reconnect_attempts,
            base_delay_s=self.reconnect_delay_s,
            ack_timeout_s=self.ack_timeout_s,
            name=self.profile.value,
        ).scaled(self.time_scale)

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale


# --- apps ---------------------------------------------------------------------------------


class App(Protocol):
    """What an app server runs: the SDK's overridable ``onSession`` / ``onStop``."""

    async def on_session(self, session: AppSession) -> None: ...

    async def on_stop(self, session_id: str, user_id: str, reason: str) -> None: ...


@dataclass(slots=True)
class SubscriberApp:
    """Subscribes to ``streams`` in ``on_session`` (one update per stream, as the SDK's
    handlers do); what it receives is recorded by the session."""

    streams: Sequence[str] = ()

    async def on_session(self, session: AppSession) -> None:
        for stream in self.streams:
            await session.subscribe(stream)

    async def on_stop(self, session_id: str, user_id: str, reason: str) -> None:
        return None


@dataclass(frozen=True, slots=True)
class AppServerStats:
    """Counters for status lines and ``/health``."""

    sessions: int
    live: int
    reconnects: int
    received: int
    lost_sends: int
    gaps: int
    duplicates: int
    webhooks: int
    webhook_failures: int
