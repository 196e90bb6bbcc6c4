"""The health monitor spreads a round of many sockets over the ping interval (as
upstream's per-socket ping timers are spread), instead of pinging all at once: one burst
of 10,000 pings and their pongs stalled the cloud for about a second."""

from __future__ import annotations

import asyncio

import pytest

import wsquake.cloud.health as health_module
from tests.cloud.conftest import Harness

# Protocol ping interval 3 s scaled by 0.1 = 0.3 s wall; with ROUND_SLICE = 1 and three
# sockets a round is three slices 0.1 s apart.
SCALE = 0.1
PING_S = 3.0


async def test_a_round_of_more_sockets_than_a_slice_is_spread_over_the_interval(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health_module, "ROUND_SLICE", 1)
    cloud = await harness.cloud(time_scale=SCALE, ping_interval_s=PING_S, pong_deadline_s=60)
    loop = asyncio.get_running_loop()
    checks: list[tuple[float, object]] = []
    enough = asyncio.Event()
    check = cloud.health.check

    def recording_check(conn: object) -> bool:
        checks.append((loop.time(), conn))
        if len(checks) >= 9:
            enough.set()
        return check(conn)  # type: ignore[arg-type]

    monkeypatch.setattr(cloud.health, "check", recording_check)
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        glasses = await harness.glasses(cloud, email)
        await glasses.next_message("connection_ack")
    async with asyncio.timeout(10):
        await enough.wait()
    # The last three checks are one full three-slice round: three sockets, one each,
    # about interval / 3 = 0.1 s apart (a burst would put them microseconds apart).
    last = checks[-3:]
    assert len({id(conn) for _, conn in last}) == 3
    gaps = [b[0] - a[0] for a, b in zip(last, last[1:], strict=False)]
    assert all(gap > 0.05 for gap in gaps), gaps
