"""The app server against the reference cloud: reconnect inside the grace, resurrection
after it, replacement of a session, and duplicate-session detection (§9.3, §10.1, D6).

Timeline unit: one protocol second = ``units(1)`` wall seconds; app grace 5 units.
"""

from __future__ import annotations

from websockets.asyncio.server import ServerConnection

from tests.simulators.app_fixtures import (  # noqa: F401 - app_harness is the h fixture
    AppHarness,
    ScriptedCloud,
    ack,
    app_harness,
    events,
    until,
    wait_event,
)
from wsquake.history import EventKind, MemoryHistory, Outcome

EMAIL = "carol@example.com"
PKG = "com.example.life"
SID = f"{EMAIL}-{PKG}"


async def press(glasses, seq: int) -> None:  # type: ignore[no-untyped-def]
    await glasses.send_event("button_press", buttonId="main", pressType="short", seq=seq,
                             sentNs=0)


def received(history: MemoryHistory, seq: int):  # type: ignore[no-untyped-def]
    return lambda e: e["seq"] == seq


async def test_app_socket_dropped_at_tcp_level_reconnects_in_grace_and_data_flows(
    h: AppHarness,
) -> None:
    # 0 abort the app's TCP connection (1006 both ends); ~1 SDK attempt 1 re-inits with
    # the same id inside the 5 s grace; data sent afterwards arrives on epoch 2.
    history = MemoryHistory("app")
    server = await h.app_server(PKG, history=history)
    cloud = await h.cloud(server)
    glasses = await h.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    await wait_event(history, EventKind.SUBSCRIBE, where=lambda e: e["streams"] == "button_press")
    await press(glasses, 1)
    await wait_event(history, EventKind.RECEIVE, where=received(history, 1))
    assert server.sessions[SID].abort_transport()
    await wait_event(history, EventKind.SUBSCRIBE,
                     where=lambda e: e.conn == 2 and e["streams"] == "button_press")
    await press(glasses, 2)
    got = await wait_event(history, EventKind.RECEIVE, where=received(history, 2))
    assert got.conn == 2 and got.session_id == SID
    waits = events(history, EventKind.RECONNECT_WAIT)
    assert [w["attempt"] for w in waits] == [1]
    assert not [w for w in events(history, EventKind.WEBHOOK, Outcome.INVOKE)
                if w["request"] == "stop_request"]  # no resurrection
    assert server.stats().reconnects == 1


async def test_app_that_cannot_reconnect_is_resurrected_with_the_same_session_id(
    h: AppHarness,
) -> None:
    # max_reconnect_attempts 0: the loss is permanent at once (4000) and onStop drops
    # the session. At 5 units the grace expires: stop_request, then session_request
    # with the same id; the new session gets data again.
    history = MemoryHistory("app")
    server = await h.app_server(PKG, history=history, max_reconnect_attempts=0)
    cloud = await h.cloud(server)
    glasses = await h.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    await wait_event(history, EventKind.SUBSCRIBE, where=lambda e: e["streams"] == "button_press")
    first = server.sessions[SID]
    first.abort_transport()
    await wait_event(history, EventKind.GIVE_UP)
    stop = await wait_event(history, EventKind.WEBHOOK, Outcome.OK,
                            where=lambda e: e["request"] == "stop_request")
    again = await wait_event(history, EventKind.WEBHOOK, Outcome.OK,
                             where=lambda e: e["request"] == "session_request",
                             since=history.events.index(stop))
    assert again.session_id == SID
    assert server.sessions[SID] is not first
    await wait_event(history, EventKind.SUBSCRIBE,
                     where=lambda e: e.conn == 2 and e["streams"] == "button_press")
    await press(glasses, 5)
    got = await wait_event(history, EventKind.RECEIVE, where=received(history, 5))
    assert got.conn == 2


async def test_session_request_for_a_live_id_releases_and_replaces_it_sdk_2_1(
    h: AppHarness,
) -> None:
    # Restart recovery re-sends session_request for a running app: the SDK 2.1 server
    # sends ownership_release, disconnects the old session (1005) and connects anew.
    history = MemoryHistory("app")
    server = await h.app_server(PKG, history=history)
    cloud = await h.cloud(server)
    reg = await server.register(cloud.url)
    glasses = await h.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    await wait_event(history, EventKind.SUBSCRIBE, where=lambda e: e["streams"] == "button_press")
    old = server.sessions[SID]
    # the app reaches `running` before the registration learns it: poll the cloud's view
    await _until_registered(h, cloud.url, reg)
    response = await h.http.post(f"{cloud.url}/api/tpa-server/restart",
                                 json={"registrationId": reg})
    assert response.json() == {"success": True, "recoveredSessions": 1}
    await wait_event(history, EventKind.SUBSCRIBE,
                     where=lambda e: e.conn == 2 and e["streams"] == "button_press")
    note = history.of(EventKind.NOTE)
    assert any(e["text"] == "ownership_release switching_clouds" and e.conn == 1 for e in note)
    closed = [e for e in events(history, EventKind.CLOSE, Outcome.INVOKE) if e.conn == 1]
    assert closed and closed[0]["code"] == 1005
    assert server.sessions[SID] is not old
    assert server.stats().live == 1 and server.stats().duplicates == 0


async def test_sdk_2_0_keeps_both_sessions_and_a_duplicate_is_detected(
    h: AppHarness,
) -> None:
    # sdk_2_0 does not replace a session on a second session_request. Against a peer
    # that, like the upstream cloud with D6, never closes the older socket, two live
    # sockets for one id remain -> one duplicate_session event and /health counts it.
    async def acks_everything(index: int, ws: ServerConnection, cloud: ScriptedCloud) -> None:
        await ws.send(ack(SID))

    peer = await h.scripted(acks_everything)
    history = MemoryHistory("app")
    server = await h.app_server(PKG, history=history, profile="sdk_2_0")
    body = {"type": "session_request", "sessionId": SID, "userId": EMAIL,
            "mentraOSWebsocketUrl": peer.url}
    for _ in range(2):
        response = await h.http.post(server.webhook_url, json=body)
        assert response.status_code == 200
    dup = await wait_event(history, EventKind.DUPLICATE_SESSION)
    assert dup.session_id == SID and dup["live"] == 2 and dup.conn == 2
    health = (await h.http.get(f"{server.url}/health")).json()
    assert health["duplicateSessions"] == 1 and health["liveSockets"] == 2
    assert health["activeSessions"] == 1
    assert not history.of(EventKind.NOTE)  # no ownership_release in sdk_2_0


async def test_sdk_2_1_replaces_the_session_so_no_duplicate_remains(h: AppHarness) -> None:
    async def acks_everything(index: int, ws: ServerConnection, cloud: ScriptedCloud) -> None:
        await ws.send(ack(SID))

    peer = await h.scripted(acks_everything)
    history = MemoryHistory("app")
    server = await h.app_server(PKG, history=history)
    body = {"type": "session_request", "sessionId": SID, "userId": EMAIL,
            "mentraOSWebsocketUrl": peer.url}
    for _ in range(2):
        assert (await h.http.post(server.webhook_url, json=body)).status_code == 200
    first = await peer.connection(0)
    await first.closed.wait()
    assert first.close_code == 1005
    assert first.messages[-1]["type"] == "ownership_release"
    assert first.messages[-1]["reason"] == "switching_clouds"
    await _settled(server)
    assert not history.of(EventKind.DUPLICATE_SESSION)
    assert server.stats().live == 1


async def test_superseded_socket_is_not_a_duplicate_on_the_fixed_cloud(h: AppHarness) -> None:
    # sdk_2_0 again, but the fixed cloud closes the older socket 1008 "Superseded".
    history = MemoryHistory("app")
    server = await h.app_server(PKG, history=history, profile="sdk_2_0")
    cloud = await h.cloud(server)
    reg = await server.register(cloud.url)
    glasses = await h.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    await wait_event(history, EventKind.SUBSCRIBE, where=lambda e: e["streams"] == "button_press")
    await _until_registered(h, cloud.url, reg)
    await h.http.post(f"{cloud.url}/api/tpa-server/restart", json={"registrationId": reg})
    close = await wait_event(history, EventKind.CLOSE, where=lambda e: e["code"] == 1008)
    assert close["reason"] == "Superseded by a newer connection" and close.conn == 1
    await wait_event(history, EventKind.SUBSCRIBE,
                     where=lambda e: e.conn == 2 and e["streams"] == "button_press")
    # give a would-be duplicate its settle time, then check nothing was reported
    await _settled(server)
    assert not history.of(EventKind.DUPLICATE_SESSION)
    assert server.stats().live == 1


async def _settled(server) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    await asyncio.sleep(server.settings.scaled(server.settings.duplicate_settle_s) * 2)


async def _until_registered(h: AppHarness, cloud_url: str, reg: str) -> None:
    async def listed() -> bool:
        body = (await h.http.get(f"{cloud_url}/api/tpa-server/registrations")).json()
        mine = [r for r in body["registrations"] if r["registrationId"] == reg]
        return bool(mine) and SID in mine[0]["activeSessions"]

    await until(listed, what=f"{SID} in registration {reg}")


async def test_hyphenated_user_and_package_work_end_to_end(h: AppHarness) -> None:
    # session ids are never split by the app side: "<user>-<package>" with '-' in both
    email, package = "anne-marie@ex-ample.com", "com.ex-ample.notes"
    history = MemoryHistory("app")
    server = await h.app_server(package, history=history)
    cloud = await h.cloud(server)
    glasses = await h.glasses(cloud, email)
    await glasses.start_app(package)
    await wait_event(history, EventKind.SUBSCRIBE, where=lambda e: e["streams"] == "button_press")
    assert list(server.sessions) == [f"{email}-{package}"]
    await press(glasses, 3)
    got = await wait_event(history, EventKind.RECEIVE)
    assert (got["user"], got["seq"], got.session_id) == (email, 3, f"{email}-{package}")


async def test_duplicate_is_detected_against_the_cloud_with_d6_and_sdk_2_0(
    h: AppHarness,
) -> None:
    # The cloud with duplicate_app_sockets (D6) leaves the older socket open when a
    # second init arrives; restart recovery re-sends session_request for the running
    # app and the sdk_2_0 server does not replace its session -> two live sockets.
    from wsquake.cloud.settings import Defects

    history = MemoryHistory("app")
    server = await h.app_server(PKG, history=history, profile="sdk_2_0")
    cloud = await h.cloud(server, defects=Defects(duplicate_app_sockets=True))
    reg = await server.register(cloud.url)
    glasses = await h.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    await wait_event(history, EventKind.SUBSCRIBE, where=lambda e: e["streams"] == "button_press")
    await _until_registered(h, cloud.url, reg)
    await h.http.post(f"{cloud.url}/api/tpa-server/restart", json={"registrationId": reg})
    dup = await wait_event(history, EventKind.DUPLICATE_SESSION)
    assert dup.session_id == SID and dup["live"] == 2
    health = (await h.http.get(f"{server.url}/health")).json()
    assert health["duplicateSessions"] == 1 and health["liveSockets"] == 2
