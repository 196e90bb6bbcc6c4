"""LoadGlasses (the blocking client behind the Locust users) against the real reference
cloud and echo app, in plain threads. Timeline in protocol seconds (x SCALE)."""

from __future__ import annotations

import asyncio

from wsquake.history import EventKind, MemoryHistory, Outcome
from wsquake.load.samples import Metric
from wsquake.load.session import LoadGlasses
from wsquake.protocol import AndroidPolicy
from wsquake.simulators.glasses_model import GlassesSettings
from wsquake.simulators.glasses_streams import StreamRates

from .conftest import ECHO, SCALE, SECRET, WAIT_S, EchoStack, ListSink


def settings(stack: EchoStack, email: str = "load-1@example.com", **kw: object) -> GlassesSettings:
    kw.setdefault("probe_interval_s", 0.1)
    return GlassesSettings(
        cloud_url=stack.cloud.ws_url("/glasses-ws"),
        email=email,
        jwt_secret=SECRET,
        policy=AndroidPolicy().scaled(SCALE),
        apps=(ECHO,),
        **kw,  # type: ignore[arg-type]
    )


async def test_load_glasses_reports_real_connect_ack_and_echo_times(
    echo_stack: EchoStack,
) -> None:
    sink = ListSink()
    history = MemoryHistory("locust")
    client = LoadGlasses(settings(echo_stack), sink, history=history)
    client.start()
    try:
        echoes = await asyncio.to_thread(sink.wait, Metric.ECHO, 3)
    finally:
        await asyncio.to_thread(client.stop)
    assert all(ms > 0 for ms in echoes)
    assert [ms > 0 for ms in sink.ok(Metric.CONNECT)] == [True]
    assert [ms > 0 for ms in sink.ok(Metric.ACK)] == [True]
    assert history.of(EventKind.START_APP, Outcome.OK) and client.apps_running
    assert not [s for s in sink.samples if s[2] is not None]


async def test_load_glasses_reports_the_time_to_recover_after_a_dropped_link(
    echo_stack: EchoStack,
) -> None:
    sink = ListSink()
    client = LoadGlasses(settings(echo_stack), sink)
    client.start()
    try:
        await asyncio.to_thread(sink.wait, Metric.ACK, 1)
        assert client.drop_transport()
        reconnects = await asyncio.to_thread(sink.wait, Metric.RECONNECT, 1)
        await asyncio.to_thread(sink.wait, Metric.ACK, 2)
    finally:
        await asyncio.to_thread(client.stop)
    # Android: init delay 1 s + first backoff <= 2 s, all x SCALE, plus the dial.
    assert 0 < reconnects[0] < 10_000
    [recovery] = sink.recoveries
    assert recovery.user == "load-1@example.com"
    assert recovery.lost_conn == 1 and recovery.attempts == 1


async def test_load_glasses_streams_sensor_events_with_sequence_numbers(
    echo_stack: EchoStack,
) -> None:
    sink = ListSink()
    history = MemoryHistory("locust")
    client = LoadGlasses(
        settings(echo_stack, probe_interval_s=0, rates=StreamRates(head_position=50)),
        sink,
        history=history,
    )
    client.start()
    try:
        async with asyncio.timeout(WAIT_S):
            await history.wait_for(lambda e: e.kind is EventKind.SEND and e.get("seq") == 5)
    finally:
        await asyncio.to_thread(client.stop)
    seqs = [e.get("seq") for e in history.of(EventKind.SEND, Outcome.OK)]
    assert seqs[:5] == [1, 2, 3, 4, 5]


async def test_probes_wait_until_the_apps_run(echo_stack: EchoStack) -> None:
    sink = ListSink()
    history = MemoryHistory("locust")
    client = LoadGlasses(settings(echo_stack, probe_interval_s=0.02), sink, history=history)
    assert not client.send_probe()  # not connected yet
    client.start()
    try:
        await asyncio.to_thread(sink.wait, Metric.ECHO, 2)
    finally:
        await asyncio.to_thread(client.stop)
    probes = history.of(EventKind.PROBE, Outcome.INVOKE)
    started = history.of(EventKind.START_APP, Outcome.OK)[0]
    assert probes and all(p.t > started.t for p in probes)


async def test_stopping_load_glasses_closes_the_session_with_1000(
    echo_stack: EchoStack,
) -> None:
    sink = ListSink()
    history = MemoryHistory("locust")
    client = LoadGlasses(settings(echo_stack, probe_interval_s=0), sink, history=history)
    client.start()
    await asyncio.to_thread(sink.wait, Metric.ACK, 1)
    await asyncio.to_thread(client.stop)
    [close] = history.of(EventKind.CLOSE)
    assert close.outcome is Outcome.OK and close.get("initiator") == "self"
    assert not client.connected


async def test_a_refused_connect_is_a_connect_failure_with_the_reason(
    echo_stack: EchoStack,
) -> None:
    sink = ListSink()
    bad = GlassesSettings(
        cloud_url=echo_stack.cloud.ws_url("/glasses-ws"), email="load-2@example.com",
        jwt_secret="not-the-secret", policy=AndroidPolicy().scaled(SCALE),
    )
    client = LoadGlasses(bad, sink)
    client.start()
    try:
        metric, ms, error = await asyncio.to_thread(sink.wait_error)
    finally:
        await asyncio.to_thread(client.stop)
    assert metric is Metric.CONNECT and ms > 0 and error == "HTTP 401"
    assert not sink.ok(Metric.CONNECT)
