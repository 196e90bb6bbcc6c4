"""Glasses reconnect policies (PROTOCOL.md §10.2, §10.3) against real sockets.

Timing: SCALE (conftest) is one protocol second; tests that need many attempts shrink the
policy further, and check every delay against the policy's formula and every measured gap
against the recorded delay (generous upper tolerance: the machine is shared).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from wsquake.cloud import CloudServer
from wsquake.history import EventKind, HistoryEvent, MemoryHistory, Outcome
from wsquake.protocol import AndroidPolicy, CustomPolicy, IosPolicy
from wsquake.simulators.glasses import (
    GlassesClient,
    GlassesPolicy,
    GlassesSettings,
    GlassesState,
)

from .conftest import SCALE, SECRET, WAIT_S, CloudFactory, user_view
from .glasses_peers import ClosingServer, Relay

EMAIL = "user-0007@ex-ample.com"
SLACK_S = 0.5  # how late a reconnect may start on a busy machine


def glasses(url: str, policy: GlassesPolicy, **kw: Any) -> GlassesSettings:
    return GlassesSettings(cloud_url=url, email=EMAIL, jwt_secret=SECRET, policy=policy, **kw)


def waits(history: MemoryHistory) -> list[HistoryEvent]:
    return history.of(EventKind.RECONNECT_WAIT)


def check_gaps(history: MemoryHistory) -> None:
    """Each reconnect attempt starts delay_s (and not much more) after its wait began."""
    events = history.events
    for i, event in enumerate(events):
        if event.kind is not EventKind.RECONNECT_WAIT:
            continue
        attempts = (e for e in events[i + 1 :] if e.kind is EventKind.CONNECT)
        nxt = next((e for e in attempts if e.outcome is Outcome.INVOKE), None)
        if nxt is None:
            continue
        gap = (nxt.t - event.t) / 1e9
        delay = float(event["delay_s"])  # type: ignore[arg-type]
        assert delay - 0.005 <= gap <= delay + SLACK_S, (event, gap)


async def run_until_attempt(settings: GlassesSettings, attempt: int) -> MemoryHistory:
    history = MemoryHistory("glasses-0")
    async with GlassesClient(settings, history=history):
        async with asyncio.timeout(WAIT_S):
            await history.wait_for(
                lambda e: e.kind is EventKind.RECONNECT_WAIT and e["attempt"] == attempt
            )
    return history


async def test_android_backoff_grows_by_one_and_a_half_with_jitter_up_to_the_cap() -> None:
    # Scaled so the 30 s cap is 0.03 s: 15 attempts cross it (1.5**9 > 30).
    policy = AndroidPolicy().scaled(0.001)
    async with ClosingServer() as server:
        history = await run_until_attempt(glasses(server.url, policy), 15)
    delays = [float(e["delay_s"]) for e in waits(history)][:15]  # type: ignore[arg-type]
    for n, delay in enumerate(delays):
        floor = min(policy.base_s * policy.factor**n, policy.cap_s)
        assert floor - 1e-6 <= delay <= min(floor + policy.jitter_s, policy.cap_s) + 1e-6
    assert delays[-1] == pytest.approx(policy.cap_s)
    assert [e["attempt"] for e in waits(history)][:15] == list(range(1, 16))
    check_gaps(history)


async def test_ios_reconnects_at_a_fixed_interval_without_limit() -> None:
    policy = IosPolicy().scaled(0.01)  # 3 s -> 0.03 s
    async with ClosingServer() as server:
        history = await run_until_attempt(glasses(server.url, policy), 12)
        assert server.accepted >= 12
    delays = [float(e["delay_s"]) for e in waits(history)]  # type: ignore[arg-type]
    assert delays == pytest.approx([0.03] * len(delays))
    assert not history.of(EventKind.GIVE_UP)
    check_gaps(history)


async def test_custom_policy_gives_up_after_its_attempts() -> None:
    policy = CustomPolicy(base_s=0.01, factor=2.0, max_attempts=3)
    async with ClosingServer() as server:
        history = MemoryHistory("glasses-0")
        async with GlassesClient(glasses(server.url, policy), history=history) as client:
            async with asyncio.timeout(WAIT_S):
                assert await client.wait_state(GlassesState.GAVE_UP) is GlassesState.GAVE_UP
    assert [float(e["delay_s"]) for e in waits(history)] == pytest.approx([0.01, 0.02, 0.04])  # type: ignore[arg-type]
    assert len(history.of(EventKind.CONNECT, Outcome.INVOKE)) == 4
    assert history.of(EventKind.GIVE_UP)[0]["attempts"] == 3
    check_gaps(history)


async def test_stop_during_a_reconnect_wait_returns_at_once() -> None:
    policy = IosPolicy(interval_s=3600.0)
    async with ClosingServer() as server:
        history = MemoryHistory("glasses-0")
        client = GlassesClient(glasses(server.url, policy), history=history)
        async with client:
            async with asyncio.timeout(WAIT_S):
                await client.wait_state(GlassesState.WAITING)
        # The context exit above stopped it well inside WAIT_S, not after an hour.
        assert client.state is GlassesState.STOPPED


async def test_cloud_restart_on_the_same_port_is_survived(make_cloud: CloudFactory) -> None:
    # Timeline (units of SCALE): connected; cloud stops -> close seen; attempts against
    # the closed port fail and back off (Android: 1, 1.5, 2.25 ... + jitter); the cloud
    # comes back on the same port -> the next attempt opens a new conn and acks.
    history = MemoryHistory("glasses-0")
    first = make_cloud()
    first_cloud = await first.__aenter__()
    port = first_cloud.port
    settings = glasses(first_cloud.ws_url("/glasses-ws"), AndroidPolicy().scaled(SCALE))
    async with GlassesClient(settings, history=history) as client:
        try:
            async with asyncio.timeout(WAIT_S):
                await client.wait_state(GlassesState.CONNECTED)
        finally:
            await first.__aexit__(None, None, None)
        async with asyncio.timeout(WAIT_S):
            await history.wait_for(
                lambda e: e.kind is EventKind.CONNECT and e.outcome is Outcome.FAIL
            )
        async with make_cloud(port=port) as second:
            async with asyncio.timeout(WAIT_S):
                await history.wait_for(lambda e: e.kind is EventKind.ACK and e.conn > 1)
                await client.wait_state(GlassesState.CONNECTED)
            user = await user_view(second, EMAIL)
            assert user is not None and user["state"] == "CONNECTED"
    closes = history.of(EventKind.CLOSE)
    assert closes[0].conn == 1 and closes[0]["initiator"] in ("peer", "network")
    assert history.of(EventKind.CONNECT, Outcome.FAIL)
    check_gaps(history)


async def test_reconnect_reattaches_the_same_user_session(cloud: CloudServer) -> None:
    history = MemoryHistory("glasses-0")
    settings = glasses(cloud.ws_url("/glasses-ws"), IosPolicy().scaled(SCALE))
    async with GlassesClient(settings, history=history) as client:
        async with asyncio.timeout(WAIT_S):
            await client.wait_state(GlassesState.CONNECTED)
            before = await user_view(cloud, EMAIL)
            client.drop_transport()  # the link breaks under the client (no close frame)
            await history.wait_for(lambda e: e.kind is EventKind.ACK and e.conn == 2)
            await client.wait_state(GlassesState.CONNECTED)
            after = await user_view(cloud, EMAIL)
    assert before is not None and after is not None
    assert after["state"] == "CONNECTED" and after["glassesSockets"] == 1
    acks = history.of(EventKind.ACK)
    first = next(a for a in acks if a.conn == 1)
    second = next(a for a in acks if a.conn == 2)
    assert first["start_time"] is not None and first["start_time"] == second["start_time"]
    close = history.of(EventKind.CLOSE)[0]
    assert close.conn == 1 and close["initiator"] == "network" and close["code"] == 1006


async def test_stale_close_of_an_abandoned_socket_starts_no_second_loop(cloud: CloudServer) -> None:
    # Timeline (wall s): Android pings every 0.2; conn 1 is frozen at 0 -> the pong is
    # missed by ~0.4 -> conn 1 is abandoned (its close handshake may take close_timeout
    # 2.0) -> reconnect after 0.05-0.1 -> conn 2 acked -> conn 1's late close arrives
    # ~2.4 and is recorded as stale; it must not start another reconnect.
    policy = AndroidPolicy(client_ping_interval_s=4.0).scaled(SCALE)
    history = MemoryHistory("glasses-0")
    async with Relay(cloud.port) as relay:
        settings = glasses(relay.url, policy, close_timeout_s=2.0)
        async with GlassesClient(settings, history=history) as client:
            async with asyncio.timeout(WAIT_S):
                await client.wait_state(GlassesState.CONNECTED)
                relay.freeze(0)
                stale = await history.wait_for(
                    lambda e: e.kind is EventKind.CLOSE and e.get("stale") is True
                )
                assert client.state is GlassesState.CONNECTED and client.conn == 2
    assert stale.conn == 1
    conn2_open = next(
        e for e in history.of(EventKind.CONNECT, Outcome.OK) if e.conn == 2
    )
    assert stale.t > conn2_open.t
    assert len(waits(history)) == 1
    assert len(history.of(EventKind.CONNECT, Outcome.INVOKE)) == 2
    lost = history.of(EventKind.CLOSE)[0]
    assert lost.conn == 1 and lost["reason"] == "pong timeout" and lost["initiator"] == "network"


async def test_android_pings_of_a_healthy_link_never_fail_it(cloud: CloudServer) -> None:
    # Timeline: pings every 4 units (0.2 s), each answered on loopback within the
    # interval; after three pongs the first socket is still the only one.
    policy = AndroidPolicy(client_ping_interval_s=4.0).scaled(SCALE)
    history = MemoryHistory("glasses-0")
    async with GlassesClient(glasses(cloud.ws_url("/glasses-ws"), policy), history=history) as c:
        async with asyncio.timeout(WAIT_S):
            await c.wait_pongs(3)
        assert c.state is GlassesState.CONNECTED and c.conn == 1
    assert [e.conn for e in history.of(EventKind.CLOSE)] == [1]
    assert history.of(EventKind.CLOSE)[0]["initiator"] == "self"
