"""The SDK AppSession's reconnect rules (PROTOCOL.md §10.1, §11) against a scripted peer.

Timeline unit: one protocol second = ``units(1)`` wall seconds. The SDK waits 1, 2, 4
units before attempts 1, 2, 3 and gives up (4000) when a fourth would be needed.
"""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.server import ServerConnection

from tests.simulators.app_fixtures import (  # noqa: F401 - h is a fixture
    AppHarness,
    ScriptedCloud,
    ack,
    app_harness,
    units,
    wait_event,
)
from wsquake.history import EventKind, MemoryHistory, Outcome
from wsquake.simulators.app_server import AppServer
from wsquake.simulators.app_session import AppSession, SessionNotOpen

EMAIL = "bob@example.com"
PKG = "com.example.sdk"
SID = f"{EMAIL}-{PKG}"


async def start(h: AppHarness, peer: ScriptedCloud, history: MemoryHistory,
                **settings: object) -> AppServer:
    server = await h.app_server(PKG, history=history, **settings)
    response = await h.http.post(
        server.webhook_url,
        json={"type": "session_request", "sessionId": SID, "userId": EMAIL,
              "mentraOSWebsocketUrl": peer.url},
    )
    assert response.status_code == 200, response.text
    return server


def close_first_with(code: int, reason: str = ""):  # type: ignore[no-untyped-def]
    """Ack every connection; close only the first one with ``code``/``reason``."""

    async def script(index: int, ws: ServerConnection, cloud: ScriptedCloud) -> None:
        await ws.send(ack(SID))
        if index == 0:
            await ws.close(code, reason)

    return script


@pytest.mark.parametrize(
    ("code", "reason", "kept_in_map"),
    [
        (1000, "App stopped", False),
        (1001, "Ping timeout - no pong received", False),
        (1008, "Superseded by a newer connection", True),  # a zombie entry, never retried
        (4001, "App stopped", True),  # no reconnect, but not "clean": entry kept
        (1000, "User session ended", False),
    ],
)
async def test_close_that_stops_the_sdk_does_not_reconnect(
    h: AppHarness, code: int, reason: str, kept_in_map: bool
) -> None:
    peer = await h.scripted(close_first_with(code, reason))
    history = MemoryHistory("app")
    server = await start(h, peer, history)
    close = await wait_event(history, EventKind.CLOSE, where=lambda e: e["code"] == code)
    assert close["reason"] == reason
    # no attempt within twice the first reconnect delay
    with pytest.raises(TimeoutError):
        await peer.connection(1, timeout=units(2))
    assert not history.of(EventKind.RECONNECT_WAIT)
    # permanent, session-ended and clean (1000/1001) closes ran onStop and left the map
    assert (SID in server.sessions) is kept_in_map


async def test_sdk_2_0_drops_a_reconnecting_session_from_its_map_so_stop_misses_it(
    h: AppHarness,
) -> None:
    # D6's app half: the mid-2025 SDK forgets the session on any close, but the session
    # itself reconnects; a stop_request then finds nothing and the socket lives on.
    peer = await h.scripted(close_first_with(1011, "restart"))
    history = MemoryHistory("app")
    server = await start(h, peer, history, profile="sdk_2_0")
    await wait_event(history, EventKind.SUBSCRIBE, where=lambda e: e.conn == 2)
    assert server.sessions == {}
    stop = await h.http.post(server.webhook_url, json={
        "type": "stop_request", "sessionId": SID, "userId": EMAIL, "reason": "user_disabled"})
    assert stop.status_code == 200
    assert server.stats().live == 1
    assert not (await peer.connection(1)).closed.is_set()


async def test_sdk_2_1_keeps_a_reconnecting_session_so_stop_reaches_it(h: AppHarness) -> None:
    peer = await h.scripted(close_first_with(1011, "restart"))
    history = MemoryHistory("app")
    server = await start(h, peer, history)
    await wait_event(history, EventKind.SUBSCRIBE, where=lambda e: e.conn == 2)
    assert list(server.sessions) == [SID]
    stop = await h.http.post(server.webhook_url, json={
        "type": "stop_request", "sessionId": SID, "userId": EMAIL, "reason": "user_disabled"})
    assert stop.status_code == 200
    second = await peer.connection(1)
    await second.closed.wait()
    assert second.close_code == 1005
    assert server.sessions == {} and server.stats().live == 0


@pytest.mark.parametrize(("code", "reason"), [(1011, "boom"), (4002, "custom"), (1012, "")])
async def test_close_that_the_sdk_reconnects_after_inits_with_the_same_id_and_key(
    h: AppHarness, code: int, reason: str
) -> None:
    peer = await h.scripted(close_first_with(code, reason))
    history = MemoryHistory("app")
    server = await start(h, peer, history)
    first = await peer.connection(0)
    second = await peer.connection(1)
    assert second.init == {**first.init, "timestamp": second.init["timestamp"]}  # type: ignore[dict-item]
    assert second.init["apiKey"] == server.settings.api_key  # type: ignore[index]
    wait = history.of(EventKind.RECONNECT_WAIT)[0]
    assert (wait["attempt"], wait["delay_s"]) == (1, pytest.approx(units(1)))
    # the full subscription set follows the ack on the new socket
    await wait_event(history, EventKind.SUBSCRIBE, where=lambda e: e.conn == 2)
    assert history.of(EventKind.SUBSCRIBE)[-1]["streams"] == "button_press"


async def test_abnormal_loss_reconnects_and_resets_the_attempt_counter_on_ack(
    h: AppHarness,
) -> None:
    async def script(index: int, ws: ServerConnection, cloud: ScriptedCloud) -> None:
        await ws.send(ack(SID))
        if index < 2:
            ws.transport.abort()  # 1006 on the client

    peer = await h.scripted(script)
    history = MemoryHistory("app")
    await start(h, peer, history)
    await peer.connection(2)
    waits = [(e["attempt"], e["delay_s"]) for e in history.of(EventKind.RECONNECT_WAIT)]
    # each loss is followed by an ack, so every reconnect is attempt 1 again
    assert waits == [(1, pytest.approx(units(1))), (1, pytest.approx(units(1)))]
    closes = history.of(EventKind.CLOSE)
    assert [c["code"] for c in closes] == [1006, 1006]
    assert all(c["initiator"] == "network" for c in closes)


def refuse_after_first(index: int, ws: ServerConnection, cloud: ScriptedCloud):  # type: ignore[no-untyped-def]
    async def run() -> None:
        await ws.send(ack(SID))
        await cloud.refuse()
        ws.transport.abort()

    return run()


async def test_refusing_peer_gets_three_attempts_then_permanent_4000_and_on_stop(
    h: AppHarness,
) -> None:
    # ack timeout 20 s, longer than the schedule. Timeline: 0 loss (1006); attempts
    # dial at ~1, ~3, ~7, each refused (a 1006 close); the close of attempt 3 finds no
    # attempts left -> give_up 4000 at ~7 -> AppServer.onStop drops the session.
    peer = await h.scripted(refuse_after_first)
    history = MemoryHistory("app")
    server = await start(h, peer, history, ack_timeout_s=20)
    loss = await wait_event(history, EventKind.CLOSE, where=lambda e: e["code"] == 1006)
    give_up = await wait_event(history, EventKind.GIVE_UP, Outcome.FAIL)
    assert give_up["code"] == 4000
    assert give_up["reason"] == "Maximum reconnection attempts exceeded"
    waits = [(e["attempt"], e["delay_s"]) for e in history.of(EventKind.RECONNECT_WAIT)]
    assert waits == [(1, pytest.approx(units(1))), (2, pytest.approx(units(2))),
                     (3, pytest.approx(units(4)))]
    dials = [e.t for e in history.of(EventKind.CONNECT, Outcome.INVOKE)][1:]
    offsets = [(t - loss.t) / 1e9 for t in dials]
    assert len(offsets) == 3
    for offset, expected in zip(offsets, (1, 3, 7), strict=True):
        assert units(expected) * 0.9 <= offset <= units(expected) + 1.0
    assert units(7) * 0.9 <= (give_up.t - loss.t) / 1e9 <= units(7) + 1.0
    assert server.sessions == {}
    assert server.stats().live == 0


async def test_connect_timeout_of_attempt_1_gives_up_before_attempt_3(h: AppHarness) -> None:
    # The SDK's quirk with the default 5 s ack timeout: attempt 1 (dialled at ~1) is
    # refused, but its connect() only rejects at 1 + 5 = ~6, when the counter already
    # reads 3 (attempt 3 is waiting for ~7) -> permanent 4000 at ~6; onStop disposes
    # the pending attempt 3, which never dials.
    peer = await h.scripted(refuse_after_first)
    history = MemoryHistory("app")
    server = await start(h, peer, history)
    loss = await wait_event(history, EventKind.CLOSE, where=lambda e: e["code"] == 1006)
    give_up = await wait_event(history, EventKind.GIVE_UP, Outcome.FAIL)
    assert units(6) * 0.9 <= (give_up.t - loss.t) / 1e9 <= units(6) + 1.0
    assert len(history.of(EventKind.CONNECT, Outcome.INVOKE)) == 3  # first + attempts 1, 2
    assert server.sessions == {}


async def test_attempt_hung_in_the_handshake_stalls_the_sequence(h: AppHarness) -> None:
    # D14: attempt 1 connects TCP but the upgrade never completes; only its close
    # could start attempt 2, so nothing else happens (no attempt 2, no give-up).
    async def script(index: int, ws: ServerConnection, cloud: ScriptedCloud) -> None:
        await ws.send(ack(SID))
        await cloud.hang()
        ws.transport.abort()

    peer = await h.scripted(script)
    history = MemoryHistory("app")
    await start(h, peer, history)
    await wait_event(history, EventKind.RECONNECT_WAIT)
    await wait_event(history, EventKind.INIT, Outcome.FAIL, where=lambda e: e.conn == 2)
    with pytest.raises(AssertionError):
        await wait_event(history, EventKind.RECONNECT_WAIT, since=len(history.events),
                         timeout=units(4))
    assert not history.of(EventKind.GIVE_UP)


async def test_hung_attempt_is_aborted_when_the_stall_switch_is_off(h: AppHarness) -> None:
    async def script(index: int, ws: ServerConnection, cloud: ScriptedCloud) -> None:
        await ws.send(ack(SID))
        await cloud.hang()
        ws.transport.abort()

    peer = await h.scripted(script)
    history = MemoryHistory("app")
    await start(h, peer, history, hung_attempt_stalls=False)
    give_up = await wait_event(history, EventKind.GIVE_UP)
    assert give_up["code"] == 4000
    assert [e["attempt"] for e in history.of(EventKind.RECONNECT_WAIT)] == [1, 2, 3]


async def test_send_fails_unless_open_and_lost_displays_are_recorded(h: AppHarness) -> None:
    async def script(index: int, ws: ServerConnection, cloud: ScriptedCloud) -> None:
        await ws.send(ack(SID))
        if index == 0:
            await cloud.hang()
            ws.transport.abort()

    peer = await h.scripted(script)
    history = MemoryHistory("app")
    server = await start(h, peer, history)
    session: AppSession = server.sessions[SID]
    await wait_event(history, EventKind.RECONNECT_WAIT)
    with pytest.raises(SessionNotOpen):
        from wsquake.protocol import OwnershipRelease

        await session.send(OwnershipRelease(reason="clean_shutdown"))
    assert await session.show_text("hello", seq=3) is False
    lost = history.of(EventKind.SEND, Outcome.FAIL)[-1]
    assert (lost["stream"], lost["seq"], lost["user"]) == ("display", 3, EMAIL)
    assert session.lost_sends == 1


async def test_app_stopped_message_resets_the_attempt_counter(h: AppHarness) -> None:
    session_holder: list[AppSession] = []

    async def script(index: int, ws: ServerConnection, cloud: ScriptedCloud) -> None:
        await ws.send(ack(SID))
        await ws.send('{"type":"app_stopped","reason":"user_disabled"}')

    peer = await h.scripted(script)
    history = MemoryHistory("app")
    server = await start(h, peer, history)
    session_holder.append(server.sessions[SID])
    stopped = await wait_event(history, EventKind.APP_STOPPED)
    assert stopped["reason"] == "user_disabled"
    assert session_holder[0].retry.attempts == 0
    await asyncio.sleep(0)
