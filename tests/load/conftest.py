"""Fixtures for the load tests: an in-process reference cloud with an echo app server,
and a thread-safe sink that records what load users measure.

Timing: ``SCALE`` is one protocol second in wall seconds (0.05: the Android init delay of
1 s lasts 0.05 s, its first reconnect delay of at most 2 s lasts at most 0.1 s).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from wsquake.cloud import AppEntry, CloudServer, CloudSettings, Timings
from wsquake.load.samples import Metric, RecoverySample
from wsquake.simulators.app_server import AppServer, AppServerSettings
from wsquake.simulators.echo import EchoApp

SECRET = "wsquake-load-test-secret-0123456789abcdef"
SCALE = 0.05
WAIT_S = 20.0
ECHO = "com.example.echo"
ECHO_KEY = "echo-key"


@dataclass
class EchoStack:
    cloud: CloudServer
    apps: AppServer


@pytest.fixture
async def echo_stack() -> AsyncIterator[EchoStack]:
    """The reference cloud (boot card off) and an echo app server, on 127.0.0.1:0."""
    async with AppServer(
        AppServerSettings(package_name=ECHO, api_key=ECHO_KEY, time_scale=SCALE), EchoApp()
    ) as apps:
        settings = CloudSettings(
            host="127.0.0.1",
            port=0,
            jwt_secret=SECRET,
            timings=Timings(time_scale=SCALE, boot_card_ms=0),
            apps=(AppEntry(package_name=ECHO, public_url=apps.url, api_key=ECHO_KEY),),
        )
        async with CloudServer(settings) as cloud:
            yield EchoStack(cloud, apps)


class ListSink:
    """Collects samples from client threads; ``wait`` blocks (run it in a thread)."""

    def __init__(self) -> None:
        self.samples: list[tuple[Metric, float, str | None]] = []
        self.recoveries: list[RecoverySample] = []
        self._cond = threading.Condition()

    def sample(self, metric: Metric, ms: float, error: str | None = None) -> None:
        with self._cond:
            self.samples.append((metric, ms, error))
            self._cond.notify_all()

    def recovery(self, sample: RecoverySample) -> None:
        with self._cond:
            self.recoveries.append(sample)
            self._cond.notify_all()

    def ok(self, metric: Metric) -> list[float]:
        with self._cond:
            return [ms for m, ms, err in self.samples if m is metric and err is None]

    def wait(self, metric: Metric, count: int, timeout: float = WAIT_S) -> list[float]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.ok(metric)) >= count, timeout):
                raise TimeoutError(f"fewer than {count} {metric.value} samples: {self.samples}")
            return self.ok(metric)

    def wait_error(self, timeout: float = WAIT_S) -> tuple[Metric, float, str | None]:
        """The first failed sample (blocks; run it in a thread)."""

        def failed() -> list[tuple[Metric, float, str | None]]:
            return [s for s in self.samples if s[2] is not None]

        with self._cond:
            if not self._cond.wait_for(failed, timeout):
                raise TimeoutError(f"no failed sample: {self.samples}")
            return failed()[0]
