"""A simulated glasses client against the real reference cloud (loopback, port 0)."""

from __future__ import annotations

import asyncio
import random

import pytest

from wsquake.cloud import CloudServer
from wsquake.history import EventKind, MemoryHistory, Outcome
from wsquake.protocol import IosPolicy
from wsquake.simulators.exceptions import GlassesNotConnected, SimulatorConfigError
from wsquake.simulators.glasses import GlassesClient, GlassesSettings, GlassesState
from wsquake.simulators.glasses_streams import StreamRates

from .conftest import SCALE, SECRET, WAIT_S, user_view

EMAIL = "user-0001@ex-ample.com"


def settings(cloud: CloudServer, **overrides: object) -> GlassesSettings:
    values: dict[str, object] = dict(
        cloud_url=cloud.ws_url("/glasses-ws"),
        email=EMAIL,
        jwt_secret=SECRET,
        policy=IosPolicy().scaled(SCALE),
    )
    values.update(overrides)
    return GlassesSettings(**values)  # type: ignore[arg-type]


async def test_glasses_connect_auth_and_init_are_recorded(cloud: CloudServer) -> None:
    history = MemoryHistory("glasses-0")
    async with GlassesClient(settings(cloud), history=history) as glasses:
        async with asyncio.timeout(WAIT_S):
            await glasses.wait_state(GlassesState.CONNECTED)
            await history.wait_for(lambda e: e.kind is EventKind.INIT and e.outcome is Outcome.OK)
        user = await user_view(cloud, EMAIL)
        assert user is not None and user["state"] == "CONNECTED"
    kinds = [(e.kind, e.outcome) for e in history.events]
    assert kinds[:3] == [
        (EventKind.CONNECT, Outcome.INVOKE),
        (EventKind.CONNECT, Outcome.OK),
        (EventKind.AUTH, Outcome.OK),
    ]
    assert (EventKind.INIT, Outcome.INVOKE) in kinds
    assert kinds[-1] == (EventKind.CLOSE, Outcome.OK)
    assert {e.conn for e in history.events} == {1}
    assert {e.client_id for e in history.events} == {EMAIL}
    assert glasses.state is GlassesState.STOPPED


async def test_glasses_with_a_bad_secret_records_auth_failure_and_keeps_retrying(
    cloud: CloudServer,
) -> None:
    history = MemoryHistory("glasses-0")
    bad = settings(cloud, jwt_secret="not-the-secret-0123456789-0123456789")
    async with GlassesClient(bad, history=history):
        async with asyncio.timeout(WAIT_S):
            # Timeline (iOS, 3 units between attempts): attempt 1 at 0, attempt 2 at 3.
            await history.wait_for(
                lambda e: e.kind is EventKind.CONNECT and e.outcome is Outcome.FAIL and e.conn == 2
            )
    auth = history.of(EventKind.AUTH, Outcome.FAIL)
    assert auth and auth[0]["status"] == 401
    assert history.of(EventKind.RECONNECT_WAIT)[0]["delay_s"] == pytest.approx(3 * SCALE)


async def test_sequence_numbers_count_per_stream_from_one(cloud: CloudServer) -> None:
    history = MemoryHistory("glasses-0")
    rates = StreamRates(head_position=200, glasses_battery_update=200)
    async with GlassesClient(settings(cloud, rates=rates), history=history):
        async with asyncio.timeout(WAIT_S):
            for stream in ("head_position", "glasses_battery_update"):
                await history.wait_for(
                    lambda e, s=stream: e.kind is EventKind.SEND  # type: ignore[misc]
                    and e["stream"] == s
                    and e["seq"] == 5
                )
    for stream in ("head_position", "glasses_battery_update"):
        seqs = [e["seq"] for e in history.of(EventKind.SEND) if e["stream"] == stream]
        assert seqs == list(range(1, len(seqs) + 1))


async def test_same_seed_gives_the_same_reconnect_schedule(cloud: CloudServer) -> None:
    from wsquake.protocol import AndroidPolicy

    delays = []
    for _ in range(2):
        history = MemoryHistory("glasses-0")
        s = settings(cloud, jwt_secret="wrong-secret-0123456789-0123456789-x",
                     policy=AndroidPolicy().scaled(SCALE / 10))
        async with GlassesClient(s, history=history, rng=random.Random(7)):
            async with asyncio.timeout(WAIT_S):
                await history.wait_for(
                    lambda e: e.kind is EventKind.RECONNECT_WAIT and e["attempt"] == 3
                )
        delays.append([e["delay_s"] for e in history.of(EventKind.RECONNECT_WAIT)][:3])
    assert delays[0] == delays[1]


async def test_connection_init_is_sent_after_the_policy_delay(cloud: CloudServer) -> None:
    # Timeline: open at 0; iOS init delay 2 units = 0.1 s; the cloud acks it at once.
    history = MemoryHistory("glasses-0")
    async with GlassesClient(settings(cloud), history=history):
        async with asyncio.timeout(WAIT_S):
            init_ok = await history.wait_for(
                lambda e: e.kind is EventKind.INIT and e.outcome is Outcome.OK
            )
    opened = history.of(EventKind.CONNECT, Outcome.OK)[0]
    init = history.of(EventKind.INIT, Outcome.INVOKE)[0]
    assert (init.t - opened.t) / 1e9 >= 2 * SCALE - 0.005
    # The ack on open comes before the init; the init is answered by one more ack.
    acks = history.of(EventKind.ACK)
    assert acks[0].t < init.t < acks[1].t and init_ok.number("latency_ms") >= 0
    assert acks[0]["user_session"] is True


async def test_audio_frames_are_sent_with_their_counter_as_seq(cloud: CloudServer) -> None:
    history = MemoryHistory("glasses-0")
    rates = StreamRates(audio_chunk=100)
    async with GlassesClient(settings(cloud, rates=rates), history=history) as glasses:
        async with asyncio.timeout(WAIT_S):
            await history.wait_for(lambda e: e.kind is EventKind.SEND and e["seq"] == 10)
        assert glasses.state is GlassesState.CONNECTED
    audio = [e.integer("seq") for e in history.of(EventKind.SEND) if e["stream"] == "audio_chunk"]
    assert audio[:10] == list(range(1, 11))


async def test_app_commands_need_a_connected_socket(cloud: CloudServer) -> None:
    glasses = GlassesClient(settings(cloud))
    with pytest.raises(GlassesNotConnected, match="idle"):
        await glasses.start_app("com.example.echo")


def test_glasses_settings_name_the_bad_key() -> None:
    base = dict(cloud_url="ws://127.0.0.1:1/glasses-ws", email=EMAIL, jwt_secret=SECRET)
    cases: list[tuple[dict[str, object], str]] = [
        ({"cloud_url": "http://127.0.0.1:1/glasses-ws"}, "cloud_url"),
        ({"email": "not-an-email"}, "email"),
        ({"jwt_secret": None}, "jwt_secret"),
        ({"probe_interval_s": -1}, "probe_interval_s"),
        ({"open_timeout_s": 0}, "open_timeout_s"),
        ({"policy": "android"}, "policy"),
    ]
    for change, key in cases:
        with pytest.raises(SimulatorConfigError) as info:
            GlassesSettings(**{**base, **change})  # type: ignore[arg-type]
        assert info.value.key == key
