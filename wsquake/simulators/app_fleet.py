"""A fleet of simulated app servers: one :class:`AppServer` per package, each on its own
port (``base_port + i``, or a free port each with 0), each running the echo app, all
optionally registered with a cloud as TPA servers, all recording into one history.

::

    settings = AppFleetSettings(packages=("com.example.echo",), api_key="key-{package}")
    async with AppFleet(settings) as fleet:
        for server in fleet.servers:
            print(server.package_name, server.webhook_url)
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from wsquake.config import ConfigError, load_settings
from wsquake.history import EventKind, History, HistoryWriter, NullHistory, Outcome
from wsquake.simulators.app_server import AppServer, AppServerSettings, SdkProfile
from wsquake.simulators.echo import EchoApp

__all__ = ["ENV_PREFIX", "AppFleet", "AppFleetSettings", "FleetStats", "load_app_fleet_settings"]

ENV_PREFIX = "WSQUAKE_APPS_"
"""Environment variables ``WSQUAKE_APPS_<FIELD>`` (e.g. ``WSQUAKE_APPS_API_KEY``)."""

logger = logging.getLogger(__name__)


def _package_ok(name: str) -> bool:
    return bool(name) and not any(c.isspace() for c in name) and "," not in name


@dataclass(frozen=True, slots=True)
class AppFleetSettings:
    """Settings of one fleet. ``api_key`` may contain ``{package}`` (e.g.
    ``key-{package}``) to give each package its own key."""

    packages: tuple[str, ...] = ()
    api_key: str = ""
    host: str = "127.0.0.1"
    port: int = 0
    """Base port: package i listens on ``port + i``; 0 = a free port each."""
    public_host: str | None = None
    """Host the cloud reaches the servers at (default: ``host``, or 127.0.0.1 for 0.0.0.0)."""
    register_with: str | None = None
    profile: SdkProfile = SdkProfile.SDK_2_1
    subscriptions: tuple[str, ...] = ()
    time_scale: float = 1.0
    seed: int = 0
    """Recorded with the run; the SDK's schedule has no randomness to seed."""
    ack_timeout_s: float = 5.0
    heartbeat_interval_s: float = 60.0
    hung_attempt_stalls: bool = True
    """D14 (``sdk.hung_attempt_stalls``, upstream behaviour): an attempt hung in the
    handshake stalls the reconnect sequence. False: it is aborted after the ack timeout."""
    history_path: str | None = None
    component: str = "apps"
    """Component name in the history (give each app-fleet process its own)."""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "profile", SdkProfile(self.profile))
        except ValueError:
            raise ConfigError(
                "profile", f"expected sdk_2_1 or sdk_2_0, got {self.profile!r}"
            ) from None
        object.__setattr__(self, "packages", tuple(self.packages))
        object.__setattr__(self, "subscriptions", tuple(self.subscriptions))
        if not self.packages:
            raise ConfigError("packages", "at least one package is required")
        seen: set[str] = set()
        for i, package in enumerate(self.packages):
            if not isinstance(package, str) or not _package_ok(package):
                raise ConfigError(f"packages[{i}]", f"not a package name: {package!r}")
            if package in seen:
                raise ConfigError(f"packages[{i}]", f"duplicate package {package!r}")
            seen.add(package)
        if not isinstance(self.component, str) or not self.component.strip():
            raise ConfigError("component", "must be a non-empty string")
        if not self.api_key:
            raise ConfigError("api_key", "is required (the apps' api key)")
        try:
            self.api_key.format(package="x")
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                "api_key", f"only {{package}} may be substituted: {exc}"
            ) from None
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise ConfigError("port", f"expected an integer, got {self.port!r}")
        if self.port < 0:
            raise ConfigError("port", f"expected 0 or a port number, got {self.port}")
        if self.port and self.port + len(self.packages) - 1 > 65535:
            raise ConfigError(
                "port", f"ports {self.port}..{self.port + len(self.packages) - 1} out of range"
            )
        # the per-server checks (profile, time_scale, URLs) run here, once, naming the key
        self.server_settings(0)

    def key_for(self, package: str) -> str:
        return self.api_key.format(package=package)

    def server_settings(self, index: int) -> AppServerSettings:
        package = self.packages[index]
        return AppServerSettings(
            package_name=package,
            api_key=self.key_for(package),
            host=self.host,
            port=self.port + index if self.port else 0,
            public_host=self.public_host,
            profile=self.profile,
            time_scale=self.time_scale,
            ack_timeout_s=self.ack_timeout_s,
            subscriptions=self.subscriptions,
            register_with=self.register_with,
            heartbeat_interval_s=self.heartbeat_interval_s,
            hung_attempt_stalls=self.hung_attempt_stalls,
        )


def load_app_fleet_settings(
    path: str | Path | None = None,
    env: Mapping[str, str] = os.environ,
    **overrides: Any,
) -> AppFleetSettings:
    """Defaults < TOML file ``path`` (top-level keys = field names) < ``WSQUAKE_APPS_*``
    env < ``overrides``; a bad value raises :class:`ConfigError` naming the key."""
    return load_settings(AppFleetSettings, path, env=env, env_prefix=ENV_PREFIX,
                         overrides=overrides)


@dataclass(frozen=True, slots=True)
class FleetStats:
    """Totals over the fleet, for the status line."""

    servers: int
    sessions: int
    live: int
    reconnects: int
    received: int
    lost: int
    """Displays lost while reconnecting plus sequence gaps seen in received streams."""
    duplicates: int
    webhook_failures: int

    def line(self) -> str:
        return (
            f"apps {self.servers} · sessions {self.sessions} (live {self.live}) · "
            f"reconnects {self.reconnects} · received {self.received} · lost {self.lost} · "
            f"duplicates {self.duplicates} · webhook failures {self.webhook_failures}"
        )


class AppFleet:
    """Starts every app server on enter and stops them all (in reverse) on exit."""

    def __init__(self, settings: AppFleetSettings, *, history: History | None = None) -> None:
        self.settings = settings
        self._history = history
        self.history: History = history if history is not None else NullHistory("apps")
        self.servers: list[AppServer] = []
        self.apps: dict[str, EchoApp] = {}
        self._stack: contextlib.AsyncExitStack | None = None

    async def __aenter__(self) -> AppFleet:
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        try:
            await self._start(stack)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def _start(self, stack: contextlib.AsyncExitStack) -> None:
        if self._history is None and self.settings.history_path:
            self.history = await stack.enter_async_context(
                HistoryWriter(Path(self.settings.history_path), self.settings.component)
            )
        self.history.record(
            EventKind.NOTE,
            Outcome.INFO,
            text=f"app fleet: {len(self.settings.packages)} apps, profile "
            f"{self.settings.profile.value}, seed {self.settings.seed}",
        )
        for index, package in enumerate(self.settings.packages):
            app = EchoApp(streams=self.settings.subscriptions)
            server = AppServer(self.settings.server_settings(index), app, history=self.history)
            await stack.enter_async_context(server)
            self.apps[package] = app
            self.servers.append(server)
            logger.info("app %s ready at %s", package, server.webhook_url)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.__aexit__(exc_type, exc, tb)

    def webhook_urls(self) -> Mapping[str, str]:
        return {s.package_name: s.webhook_url for s in self.servers}

    def stats(self) -> FleetStats:
        per = [s.stats() for s in self.servers]
        return FleetStats(
            servers=len(per),
            sessions=sum(p.sessions for p in per),
            live=sum(p.live for p in per),
            reconnects=sum(p.reconnects for p in per),
            received=sum(p.received for p in per),
            lost=sum(p.lost_sends + p.gaps for p in per),
            duplicates=sum(p.duplicates for p in per),
            webhook_failures=sum(p.webhook_failures for p in per),
        )

    def describe(self) -> dict[str, Any]:
        return {
            "apps": [
                {"package": s.package_name, "webhookUrl": s.webhook_url,
                 "registrationId": s.registration_id}
                for s in self.servers
            ]
        }
