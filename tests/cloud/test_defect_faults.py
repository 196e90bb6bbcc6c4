"""Defects exposed by the network fault §12 names, produced with the embedded fault proxy
between the glasses and the cloud: D3 (no pong deadline) under a blackhole, i.e. every
byte dropped both ways with no FIN or RST (Toxiproxy ``timeout`` toxic, ``timeout=0``).

Timeline (protocol s x SCALE 0.1): ping every 1 s, deadline 2 s -> 0.1 s / 0.2 s wall.
The fixed cloud gives up on the blackholed socket within deadline + interval (+ the close
handshake timeout) and the session goes CONNECTING; under D3 it stays CONNECTED for the
whole WINDOW (4 x (deadline + interval) = 1.2 s wall)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from tests.cloud.conftest import Harness
from tests.cloud.peers import PeerError
from wsquake.cloud.settings import Defects
from wsquake.faults.client import AsyncToxiproxyClient, Timeout
from wsquake.faults.proxy import EmbeddedToxiproxy

EMAIL = "alice@example.com"
SCALE = 0.1
PING_S = 1.0
DEADLINE_S = 2.0
WINDOW = 4 * (DEADLINE_S + PING_S) * SCALE
SLACK_S = 2.0  # scheduling slack on a shared machine (also covers the close handshake)


@contextlib.asynccontextmanager
async def glasses_link(cloud: Any) -> AsyncIterator[tuple[AsyncToxiproxyClient, Any, str]]:
    """A fault proxy in front of the cloud: (client, proxy, glasses ws URL via the proxy)."""
    async with EmbeddedToxiproxy(host="127.0.0.1", port=0) as server:
        client = AsyncToxiproxyClient(server.url)
        async with client.temp_proxy("glasses", f"127.0.0.1:{cloud.port}") as proxy:
            host, port = await client.connect_address(proxy)
            yield client, proxy, f"ws://{host}:{port}/glasses-ws"


async def _blackholed_session(
    harness: Harness, defects: Defects, patience: float
) -> tuple[Any, float | None]:
    """Connect the glasses through the proxy, blackhole the link both ways, and return
    (cloud, seconds until the session went CONNECTING, None if not within ``patience``)."""
    cloud = await harness.cloud(defects=defects, time_scale=SCALE, ping_interval_s=PING_S,
                                pong_deadline_s=DEADLINE_S, glasses_grace_s=600)
    loop = asyncio.get_running_loop()
    async with glasses_link(cloud) as (client, proxy, url):
        glasses = await harness.glasses(cloud, EMAIL, url=url)
        await glasses.next_message("connection_ack")
        async with client.toxics(proxy, Timeout(0, stream="downstream"),
                                 Timeout(0, stream="upstream")):
            started = loop.time()

            async def connecting() -> bool:
                user = await harness.user(cloud, EMAIL)
                return user is not None and user["state"] == "CONNECTING"

            try:
                await harness.until(connecting, timeout=patience, what="CONNECTING")
            except PeerError:
                return cloud, None
            return cloud, loop.time() - started


async def test_d3_blackholed_glasses_link_keeps_the_session_connected(harness: Harness) -> None:
    defects = Defects(no_pong_deadline=True)
    cloud, gave_up_after = await _blackholed_session(harness, defects, WINDOW)
    assert gave_up_after is None  # still CONNECTED after 4 x (deadline + interval)
    assert await harness.metric(cloud, "wsquake_cloud_pong_timeouts_total") == 0


async def test_d3_off_blackholed_glasses_link_is_given_up_within_the_deadline(
    harness: Harness,
) -> None:
    defects = Defects(profile="fixed")
    cloud, gave_up_after = await _blackholed_session(harness, defects, WINDOW + SLACK_S)
    assert gave_up_after is not None
    assert gave_up_after <= (DEADLINE_S + PING_S) * SCALE + SLACK_S
    assert await harness.metric(cloud, "wsquake_cloud_pong_timeouts_total", kind="glasses") == 1
