"""Shared fixtures for the simulator tests: a real reference cloud on 127.0.0.1:0.

Timing: ``SCALE`` is one protocol second in wall seconds (0.05: the iOS 3 s reconnect
interval lasts 0.15 s, the Android init delay 1 s lasts 0.05 s, the cloud's ping interval
10 s lasts 0.5 s). Tests state their timeline in these units.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from wsquake.cloud import AppEntry, CloudServer, CloudSettings, Timings

SECRET = "wsquake-simulators-test-secret-0123456789"
SCALE = 0.05
WAIT_S = 10.0

CloudFactory = Callable[..., CloudServer]


def cloud_settings(
    *apps: AppEntry, port: int = 0, time_scale: float = SCALE, **timings: Any
) -> CloudSettings:
    return CloudSettings(
        host="127.0.0.1",
        port=port,
        jwt_secret=SECRET,
        timings=Timings(time_scale=time_scale, **timings),
        apps=apps,
    )


@pytest.fixture
def make_cloud() -> CloudFactory:
    """``async with make_cloud(*apps, port=0, **timings) as cloud`` (restartable on a port)."""

    def factory(*apps: AppEntry, **kwargs: Any) -> CloudServer:
        return CloudServer(cloud_settings(*apps, **kwargs))

    return factory


@pytest.fixture
async def cloud(make_cloud: CloudFactory) -> AsyncIterator[CloudServer]:
    async with make_cloud() as server:
        yield server


async def sessions(cloud: CloudServer) -> dict[str, Any]:
    """``GET /api/sessions`` as JSON."""
    async with httpx.AsyncClient(timeout=WAIT_S, trust_env=False) as http:
        response = await http.get(f"{cloud.url}/api/sessions")
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def user_view(cloud: CloudServer, email: str) -> dict[str, Any] | None:
    for user in (await sessions(cloud))["users"]:
        if user["userId"] == email:
            return dict(user)
    return None
