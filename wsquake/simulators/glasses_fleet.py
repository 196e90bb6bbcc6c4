"""A fleet of simulated glasses: N users, M apps each, a ramp-up rate, one seed.

Everything is reproducible from the seed: user ``i``'s email, its reconnect jitter, its
stream phases and sensor values come from ``random.Random(f"{seed}:{i}")``. All clients
share one :class:`~wsquake.simulators.glasses.GlassesStats` for the live status line and
record into one history (one file per fleet process, component ``glasses-<n>``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from wsquake.config import load_settings
from wsquake.history import History, HistoryWriter, NullHistory
from wsquake.protocol import AndroidPolicy, CustomPolicy, IosPolicy
from wsquake.simulators.exceptions import SimulatorConfigError
from wsquake.simulators.glasses import (
    GlassesClient,
    GlassesPolicy,
    GlassesSettings,
    GlassesState,
    GlassesStats,
)
from wsquake.simulators.glasses_streams import StreamRates

__all__ = ["GlassesFleet", "GlassesFleetSettings", "load_fleet_settings"]

logger = logging.getLogger(__name__)

PolicyName = Literal["android", "ios", "custom"]


@dataclass(frozen=True, slots=True)
class GlassesFleetSettings:
    """One glasses fleet process. Durations ending ``_s`` are wall seconds, except the
    reconnect policy's, which ``time_scale`` multiplies (as the cloud's timings)."""

    cloud_url: str = "ws://127.0.0.1:8002/glasses-ws"
    jwt_secret: str = "change-me"
    users: int = field(default=1, metadata={"min": 1, "max": 1_000_000})
    first_user: int = field(default=0, metadata={"min": 0})
    apps: tuple[str, ...] = ()
    ramp: float = field(default=50.0, metadata={"min": 0})
    """Users started per second (0 = all at once)."""
    seed: int = 0
    policy: PolicyName = "android"
    custom: CustomPolicy = field(default_factory=CustomPolicy)
    """The backoff used when ``policy = "custom"``."""
    time_scale: float = field(default=1.0, metadata={"min": 1e-6})
    rates: StreamRates = field(default_factory=StreamRates)
    probe_interval_s: float = field(default=0.0, metadata={"min": 0})
    hyphens: bool = False
    """Emails like ``user-7-0003@ex-ample.com`` (hyphens in local part and domain)."""
    email_domain: str | None = None
    open_timeout_s: float = field(default=10.0, metadata={"min": 0.001})
    history: str | None = None
    component: str = "glasses-0"
    duration_s: float | None = field(default=None, metadata={"min": 0})

    def __post_init__(self) -> None:
        if not self.cloud_url.startswith(("ws://", "wss://")):
            raise SimulatorConfigError(
                "cloud_url", f"expected a ws:// or wss:// URL, got {self.cloud_url!r}"
            )
        for i, package in enumerate(self.apps):
            if not package or package.strip() != package:
                raise SimulatorConfigError(f"apps[{i}]", f"bad package name {package!r}")
        if len(set(self.apps)) != len(self.apps):
            raise SimulatorConfigError("apps", f"duplicate package names in {list(self.apps)}")
        if self.email_domain is not None and ("@" in self.email_domain or not self.email_domain):
            raise SimulatorConfigError(
                "email_domain", f"expected a domain like example.com, got {self.email_domain!r}"
            )
        if not self.component:
            raise SimulatorConfigError("component", "must not be empty")

    def email(self, index: int) -> str:
        """User ``index``'s email (0-based within the fleet, offset by ``first_user``)."""
        n = self.first_user + index
        if self.hyphens:
            return f"user-{self.seed}-{n:04d}@{self.email_domain or 'ex-ample.com'}"
        return f"user{self.seed}x{n:04d}@{self.email_domain or 'example.com'}"

    def reconnect_policy(self) -> GlassesPolicy:
        """The selected policy, ``time_scale`` applied."""
        base: GlassesPolicy
        if self.policy == "android":
            base = AndroidPolicy()
        elif self.policy == "ios":
            base = IosPolicy()
        else:
            base = self.custom
        return base.scaled(self.time_scale)

    def client(self, index: int) -> GlassesSettings:
        return GlassesSettings(
            cloud_url=self.cloud_url,
            email=self.email(index),
            jwt_secret=self.jwt_secret,
            policy=self.reconnect_policy(),
            apps=self.apps,
            rates=self.rates,
            probe_interval_s=self.probe_interval_s,
            open_timeout_s=self.open_timeout_s,
        )

    def rng(self, index: int) -> random.Random:
        return random.Random(f"{self.seed}:{self.first_user + index}")


def load_fleet_settings(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> GlassesFleetSettings:
    """Defaults < TOML file < ``WSQUAKE_GLASSES_*`` env < overrides (CLI flags)."""
    return load_settings(
        GlassesFleetSettings, path, env=env, env_prefix="WSQUAKE_GLASSES_", overrides=overrides
    )


class GlassesFleet:
    """Runs the fleet; ``async with GlassesFleet(settings)`` or ``await fleet.run()``.

    If ``history`` is not given and ``settings.history`` names a file, the fleet opens a
    :class:`HistoryWriter` on it for the run.
    """

    def __init__(
        self,
        settings: GlassesFleetSettings,
        *,
        history: History | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._history = history
        self._clock = clock
        self.stats = GlassesStats()
        self.clients: list[GlassesClient] = []
        self._stop = asyncio.Event()
        self.ramped = asyncio.Event()
        """Set once every user has been started (or the ramp was cut short by stop)."""
        self._stack: contextlib.AsyncExitStack | None = None
        self.started_at: float | None = None

    async def __aenter__(self) -> Self:
        # The TaskGroup is exited by a plain callback (after stop()), so an exception in
        # the caller's ``async with`` body is not wrapped into an ExceptionGroup.
        stack = contextlib.AsyncExitStack()
        tg = asyncio.TaskGroup()
        await tg.__aenter__()
        stack.push_async_callback(tg.__aexit__, None, None, None)
        tg.create_task(self.run(), name="glasses-fleet")
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
        """Stop ramping, stop every client (each closes its socket 1000)."""
        self._stop.set()

    async def run(self) -> None:
        """Ramp up, run until ``stop()`` or ``duration_s``, then stop every client."""
        async with contextlib.AsyncExitStack() as stack:
            history = self._history
            if history is None:
                if self.settings.history:
                    history = await stack.enter_async_context(
                        HistoryWriter(self.settings.history, self.settings.component)
                    )
                else:
                    history = NullHistory(self.settings.component)
            await self._run(history)

    async def _run(self, history: History) -> None:
        settings = self.settings
        self.started_at = self._clock()
        deadline = None if settings.duration_s is None else self.started_at + settings.duration_s
        async with asyncio.TaskGroup() as tg:
            for index in range(settings.users):
                if self._stop.is_set():
                    break
                due = self.started_at + (index / settings.ramp if settings.ramp > 0 else 0.0)
                if deadline is not None:
                    due = min(due, deadline)
                if await self._wait_stop(due - self._clock()):
                    break
                client = GlassesClient(
                    settings.client(index),
                    history=history,
                    rng=settings.rng(index),
                    stats=self.stats,
                )
                self.clients.append(client)
                tg.create_task(client.run(), name=f"glasses-{client.user}")
            self.ramped.set()
            if deadline is not None:
                await self._wait_stop(deadline - self._clock())
            else:
                await self._stop.wait()
            for client in self.clients:
                client.stop()

    async def _wait_stop(self, delay: float) -> bool:
        """Wait ``delay`` seconds; True if ``stop()`` came first."""
        if self._stop.is_set():
            return True
        if delay <= 0:
            return False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._stop.wait()
        return self._stop.is_set()

    async def wait_connected(self) -> None:
        """Wait until every user is started and connected (bound it with a timeout)."""
        await self.ramped.wait()
        for client in self.clients:
            await client.wait_state(GlassesState.CONNECTED)

    def status_line(self) -> str:
        """One line: users, connected, reconnecting, sent, probes, probe p50/p99."""
        s = self.stats
        states = s.states
        reconnecting = states[GlassesState.WAITING] + (
            states[GlassesState.CONNECTING] + states[GlassesState.OPEN]
        )
        p50, p99 = s.percentile(0.5), s.percentile(0.99)

        def ms(value: float | None) -> str:
            return "-" if value is None or math.isnan(value) else f"{value:.1f}ms"

        return (
            f"users {len(self.clients)}/{self.settings.users} "
            f"connected {states[GlassesState.CONNECTED]} "
            f"reconnecting {reconnecting} "
            f"gave_up {states[GlassesState.GAVE_UP]} "
            f"sent {s.sent} failed {s.send_failed} "
            f"probes {s.echoes}/{s.probes} p50 {ms(p50)} p99 {ms(p99)}"
        )
