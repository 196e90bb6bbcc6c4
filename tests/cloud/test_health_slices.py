"""The health monitor pings in slices and lets other work run between them (one
synchronous round over 10,000 sockets stopped the cloud for about a second)."""

from __future__ import annotations

import asyncio

import pytest

import wsquake.cloud.health as health_module
from tests.cloud.conftest import Harness


async def test_a_health_round_pings_every_socket_in_slices_with_other_work_between(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No automatic rounds (interval 0): the test runs one round itself.
    cloud = await harness.cloud(ping_interval_s=0)
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        glasses = await harness.glasses(cloud, email)
        await glasses.next_message("connection_ack")
    assert cloud.core is not None
    conns = list(cloud.core.connections)
    assert len(conns) == 3
    monkeypatch.setattr(health_module, "ROUND_SLICE", 2)
    order: list[str] = []
    check = cloud.health.check

    def recording_check(conn: object) -> bool:
        order.append("ping")
        return check(conn)  # type: ignore[arg-type]

    monkeypatch.setattr(cloud.health, "check", recording_check)

    async def other_work() -> None:
        order.append("other")

    other = asyncio.create_task(other_work())  # ready to run at the first yield
    async with asyncio.timeout(5):
        await cloud.health.round_sliced()
        await other
    assert order == ["ping", "ping", "other", "ping"]
    assert [c.liveness.pings_sent for c in conns if c.liveness] == [1, 1, 1]
