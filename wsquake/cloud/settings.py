"""Cloud settings: frozen dataclasses loaded from TOML, ``WSQUAKE_*`` env and overrides.

The file format is in ``examples/cloud.toml``. Every duration in :class:`Timings` is in
real protocol units (seconds or ms) and is multiplied by ``time_scale`` through
:meth:`Timings.scaled`; nothing else multiplies durations.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from wsquake.config import ConfigError, load_settings

__all__ = [
    "DEFECT_NAMES",
    "AppEntry",
    "CloudSettings",
    "Defects",
    "Timings",
    "load_cloud_settings",
]

_NONNEG = {"min": 0}


def _dur(default: float) -> Any:
    return field(default=default, metadata=_NONNEG)


@dataclass(frozen=True, slots=True)
class Timings:
    """PROTOCOL.md §9.1; names ending ``_s`` are seconds, ``_ms`` milliseconds."""

    time_scale: float = field(default=1.0, metadata={"min": 0})
    glasses_grace_s: float = _dur(60.0)
    app_grace_s: float = _dur(5.0)
    app_start_timeout_s: float = _dur(5.0)
    webhook_timeout_s: float = _dur(10.0)
    webhook_attempts: int = field(default=2, metadata={"min": 1})
    webhook_backoff_s: float = _dur(1.0)
    stop_webhook_timeout_s: float = _dur(10.0)
    ping_interval_s: float = _dur(10.0)
    pong_deadline_s: float = _dur(30.0)
    display_throttle_ms: float = _dur(300.0)
    boot_card_ms: float = _dur(1500.0)
    mic_debounce_ms: float = _dur(1000.0)
    grace_buffer_messages: int = field(default=256, metadata=_NONNEG)
    transcription_segment_ms: float = field(default=1000.0, metadata={"min": 1})
    registration_stale_s: float = _dur(1800.0)
    registration_sweep_s: float = _dur(900.0)
    close_handshake_timeout_s: float = _dur(1.0)

    def scaled(self, name: str) -> float:
        """The named duration in **seconds** of wall time, ``time_scale`` applied."""
        value = getattr(self, name)
        if name.endswith("_ms"):
            return float(value) / 1000.0 * self.time_scale
        if name.endswith("_s"):
            return float(value) * self.time_scale
        raise ValueError(f"{name} is not a duration")


DEFECT_NAMES: tuple[str, ...] = (
    "split_session_id",
    "stale_close_unchecked",
    "no_pong_deadline",
    "stop_webhook_unbounded",
    "drop_during_grace",
    "duplicate_app_sockets",
    "glasses_reconnect_no_restart",
    "keep_old_glasses_socket",
    "leak_subscriptions_on_dispose",
    "duplicate_init_restart",
    "loading_apps_as_object",
    "retry_after_sdk_500",
    "dispose_without_stop_webhook",
)


@dataclass(frozen=True, slots=True)
class Defects:
    """PROTOCOL.md §12 cloud switches D1-D13 (behaviour not implemented yet).

    D6's ``sdk.legacy_session_map`` and D14 ``sdk.hung_attempt_stalls`` are app-simulator
    switches and live with the simulators.

    ``profile = "upstream"`` turns on every switch that is not set explicitly; the
    effective value of a switch is :meth:`enabled`.
    """

    profile: Literal["fixed", "upstream"] = "fixed"
    split_session_id: bool | None = None
    stale_close_unchecked: bool | None = None
    no_pong_deadline: bool | None = None
    stop_webhook_unbounded: bool | None = None
    drop_during_grace: bool | None = None
    duplicate_app_sockets: bool | None = None
    glasses_reconnect_no_restart: bool | None = None
    keep_old_glasses_socket: bool | None = None
    leak_subscriptions_on_dispose: bool | None = None
    duplicate_init_restart: bool | None = None
    loading_apps_as_object: bool | None = None
    retry_after_sdk_500: bool | None = None
    dispose_without_stop_webhook: bool | None = None

    def enabled(self, name: str) -> bool:
        if name not in _DEFECT_FIELDS:
            raise ValueError(f"unknown defect switch {name!r}")
        value = getattr(self, name)
        if value is None:
            return self.profile == "upstream"
        return bool(value)


_DEFECT_FIELDS = frozenset(f.name for f in fields(Defects)) - {"profile"}

AppType = Literal["standard", "background", "system_dashboard"]


@dataclass(frozen=True, slots=True)
class AppEntry:
    """One app registry entry (PROTOCOL.md §6.1, §6.4)."""

    package_name: str
    public_url: str
    api_key: str
    permissions: tuple[str, ...] = ("ALL",)
    type: AppType = "standard"
    name: str | None = None

    def __post_init__(self) -> None:
        if not self.package_name:
            raise ConfigError("package_name", "must not be empty")
        if not self.public_url.startswith(("http://", "https://")):
            raise ConfigError("public_url", f"expected an http(s) URL, got {self.public_url!r}")
        allowed = {"MICROPHONE", "LOCATION", "CALENDAR", "READ_NOTIFICATIONS", "ALL"}
        for perm in self.permissions:
            if perm not in allowed:
                raise ConfigError(
                    "permissions", f"unknown permission {perm!r} (allowed: {sorted(allowed)})"
                )

    @property
    def display_name(self) -> str:
        return self.name or self.package_name


@dataclass(frozen=True, slots=True)
class CloudSettings:
    host: str = "127.0.0.1"
    port: int = field(default=8002, metadata={"min": 0, "max": 65535})
    jwt_secret: str = field(default="change-me", metadata={"key": "auth.jwt_secret"})
    timings: Timings = field(default_factory=Timings)
    defects: Defects = field(default_factory=Defects)
    apps: tuple[AppEntry, ...] = ()
    app_ws_public_url: str | None = None
    max_message_bytes: int = field(default=1048576, metadata={"min": 125})
    # permessage-deflate: off, as upstream (the Node `ws` server's default). A fault that
    # drops one compressed message breaks the shared deflate context of the rest.
    per_message_deflate: bool = False
    honor_ownership_release: bool = False
    recover_on_reregister: bool = True
    send_registration_webhooks: bool = False

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for i, app in enumerate(self.apps):
            if app.package_name in seen:
                raise ConfigError(
                    f"apps[{i}].package_name", f"duplicate package {app.package_name!r}"
                )
            seen.add(app.package_name)
        if not self.jwt_secret:
            raise ConfigError("auth.jwt_secret", "must not be empty")
        url = self.app_ws_public_url
        if url is not None and not url.startswith(("ws://", "wss://")):
            raise ConfigError("app_ws_public_url", f"expected a ws:// or wss:// URL, got {url!r}")

    @property
    def profile(self) -> str:
        return self.defects.profile


def load_cloud_settings(
    path: str | Path | None = None,
    env: Mapping[str, str] = os.environ,
    **overrides: Any,
) -> CloudSettings:
    """Build :class:`CloudSettings`: defaults < TOML ``path`` < ``WSQUAKE_*`` env < overrides.

    Override keys are field paths with ``__`` for nesting (``timings__time_scale=0.1``,
    ``jwt_secret="s"``, ``port=0``); a bad value raises :class:`ConfigError` naming the key.
    """
    translated: dict[str, Any] = {}
    for key, value in overrides.items():
        if key == "jwt_secret":
            key = "auth.jwt_secret"
        translated[key] = value
    return load_settings(CloudSettings, path, env=env, overrides=translated)
