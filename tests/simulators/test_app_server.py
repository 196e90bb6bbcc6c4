"""The app server's webhook handling and session map (PROTOCOL.md §7.1, §10.1 AppServer),
against the real reference cloud or a scripted WebSocket peer on loopback."""

from __future__ import annotations

import asyncio

from tests.simulators.app_fixtures import (  # noqa: F401 - h is a fixture
    AppHarness,
    ScriptedCloud,
    app_harness,
    free_refusing_port,
    units,
    wait_event,
)
from wsquake.history import EventKind, MemoryHistory, Outcome

EMAIL = "alice@example.com"
PKG = "com.example.echo"
SID = f"{EMAIL}-{PKG}"


def session_request(ws_url: str, session_id: str = SID) -> dict[str, object]:
    return {
        "type": "session_request",
        "sessionId": session_id,
        "userId": EMAIL,
        "timestamp": "2026-01-01T00:00:00.000Z",
        "augmentOSWebsocketUrl": ws_url,
        "mentraOSWebsocketUrl": ws_url,
    }


async def test_started_app_receives_button_presses_with_seq_and_latency(h: AppHarness) -> None:
    history = MemoryHistory("app")
    server = await h.app_server(history=history)
    cloud = await h.cloud(server)
    glasses = await h.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    await wait_event(history, EventKind.WEBHOOK, Outcome.OK)
    await wait_event(history, EventKind.SUBSCRIBE, where=lambda e: e["streams"] == "button_press")
    await glasses.send_event("button_press", buttonId="main", pressType="short", seq=7,
                             sentNs=1)
    got = await wait_event(history, EventKind.RECEIVE)
    assert (got["user"], got["stream"], got["seq"]) == (EMAIL, "button_press", 7)
    assert got.conn == 1 and isinstance(got["latency_ms"], float)
    health = (await h.http.get(f"{server.url}/health")).json()
    assert health == {"status": "healthy", "app": PKG, "activeSessions": 1, "liveSockets": 1,
                      "duplicateSessions": 0}


async def test_unknown_webhook_type_gets_400_unknown_webhook_request_type(h: AppHarness) -> None:
    server = await h.app_server()
    response = await h.http.post(server.webhook_url, json={"type": "server_heartbeat",
                                                           "sessionId": "x", "userId": "system",
                                                           "registrationId": "r"})
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": "Unknown webhook request type"}
    response = await h.http.post(server.webhook_url, json={"type": "open_sesame"})
    assert response.status_code == 400
    assert response.json()["message"] == "Unknown webhook request type"


async def test_malformed_webhook_body_gets_400_naming_the_problem(h: AppHarness) -> None:
    server = await h.app_server()
    not_json = await h.http.post(server.webhook_url, content=b"{nope")
    assert not_json.status_code == 400
    assert not_json.json()["message"].startswith("Invalid webhook body:")
    missing = await h.http.post(server.webhook_url, json={"type": "session_request",
                                                          "userId": EMAIL})
    assert missing.status_code == 400
    assert "sessionId" in missing.json()["message"]
    wrong = await h.http.post(server.webhook_url, json={"type": "stop_request", "sessionId": SID,
                                                        "userId": EMAIL, "reason": 5})
    assert wrong.status_code == 400
    assert "reason" in wrong.json()["message"]


async def test_session_request_without_ack_in_time_gets_500_and_keeps_socket_open(
    h: AppHarness,
) -> None:
    # The peer accepts the socket and the init but never acks. Timeline (protocol s):
    # 0 webhook -> socket + init; 5 ack timeout -> 500. The socket is not closed (SDK).
    async def silent(index: int, ws: object, cloud: ScriptedCloud) -> None:
        return None

    peer = await h.scripted(silent)
    history = MemoryHistory("app")
    server = await h.app_server(history=history)
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await h.http.post(server.webhook_url, json=session_request(peer.url))
    elapsed = loop.time() - started
    assert response.status_code == 500
    assert response.json() == {"status": "error", "message": "Failed to connect"}
    assert elapsed >= units(5) * 0.9
    seen = await peer.connection(0)
    assert seen.init is not None and seen.init["sessionId"] == SID
    assert not seen.closed.is_set()
    assert server.sessions == {}
    fail = history.of(EventKind.INIT, Outcome.FAIL)
    assert fail and fail[0]["error"] == "ack timeout"


async def test_late_ack_after_a_500_leaves_a_live_orphan_session(h: AppHarness) -> None:
    # SDK quirk: the timed-out connect leaves the socket open; a late ack makes the
    # session live although the server answered 500 and never put it in its map.
    release = asyncio.Event()

    async def late(index: int, ws: object, cloud: ScriptedCloud) -> None:
        from tests.simulators.app_fixtures import ack

        await release.wait()
        await ws.send(ack(SID))  # type: ignore[attr-defined]

    peer = await h.scripted(late)
    history = MemoryHistory("app")
    server = await h.app_server(history=history)
    response = await h.http.post(server.webhook_url, json=session_request(peer.url))
    assert response.status_code == 500
    release.set()
    await wait_event(history, EventKind.INIT, Outcome.OK)
    assert server.sessions == {}
    assert server.stats().live == 1
    health = (await h.http.get(f"{server.url}/health")).json()
    assert health["activeSessions"] == 0 and health["liveSockets"] == 1


async def test_refused_connect_gets_500_after_the_ack_timeout(h: AppHarness) -> None:
    # Refused: node's ws reports a 1006 close, which starts the reconnect sequence;
    # the connect promise itself only rejects at the 5 s ack timeout.
    holder, port = free_refusing_port()
    try:
        history = MemoryHistory("app")
        server = await h.app_server(history=history)
        started = asyncio.get_running_loop().time()
        response = await h.http.post(
            server.webhook_url, json=session_request(f"ws://127.0.0.1:{port}/app-ws")
        )
        assert response.status_code == 500
        assert asyncio.get_running_loop().time() - started >= units(5) * 0.9
        assert history.of(EventKind.CONNECT, Outcome.FAIL)
        assert history.of(EventKind.RECONNECT_WAIT)
    finally:
        holder.close()


async def test_injected_webhook_failure_is_retried_by_the_cloud_and_the_app_starts(
    h: AppHarness,
) -> None:
    history = MemoryHistory("app")
    server = await h.app_server(history=history)
    server.fail_next_webhooks(1)
    cloud = await h.cloud(server)
    glasses = await h.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    first = await wait_event(history, EventKind.WEBHOOK, Outcome.FAIL)
    assert first["status"] == 500 and first["error"] == "injected"
    await wait_event(history, EventKind.WEBHOOK, Outcome.OK)
    assert list(server.sessions) == [SID]


async def test_slow_webhook_past_the_start_timeout_fails_the_start(h: AppHarness) -> None:
    # webhook_delay 6 s > app_start_timeout 5 s: the cloud gives up on the start (A3
    # TIMEOUT) and the late init gets APP_NOT_STARTED + 1008, so the reply is 500.
    history = MemoryHistory("app")
    server = await h.app_server(history=history, webhook_delay_s=6)
    cloud = await h.cloud(server, webhook_attempts=1)
    glasses = await h.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    error = await wait_event(history, EventKind.INIT, Outcome.FAIL)
    assert error["code"] == "APP_NOT_STARTED"
    reply = await wait_event(history, EventKind.WEBHOOK, Outcome.FAIL)
    assert reply["status"] == 500
    close = await wait_event(history, EventKind.CLOSE, where=lambda e: e["code"] == 1008)
    assert close["initiator"] == "peer"
    assert server.sessions == {}


async def test_stop_app_sends_stop_request_and_the_session_closes_without_reconnect(
    h: AppHarness,
) -> None:
    history = MemoryHistory("app")
    server = await h.app_server(history=history)
    cloud = await h.cloud(server)
    glasses = await h.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    await wait_event(history, EventKind.SUBSCRIBE, where=lambda e: e["streams"] == "button_press")
    await glasses.stop_app(PKG)
    stop = await wait_event(history, EventKind.WEBHOOK, Outcome.OK,
                            where=lambda e: e["request"] == "stop_request")
    assert stop.session_id == SID and stop["status"] == 200
    closed = await wait_event(history, EventKind.CLOSE, Outcome.INVOKE)
    assert closed["code"] == 1005 and closed["initiator"] == "self"
    assert server.sessions == {}
    assert not history.of(EventKind.RECONNECT_WAIT)


async def test_fault_route_sets_webhook_failures_and_rejects_bad_fields(h: AppHarness) -> None:
    server = await h.app_server()
    url = f"{server.url}/_wsquake/faults"
    assert (await h.http.get(url)).json() == {"webhookDelayS": 0.0, "failNextWebhooks": 0}
    set_ = await h.http.post(url, json={"failNextWebhooks": 1})
    assert set_.json() == {"webhookDelayS": 0.0, "failNextWebhooks": 1}
    failed = await h.http.post(server.webhook_url, json=session_request("ws://127.0.0.1:9/"))
    assert failed.status_code == 500 and failed.json()["message"] == "Injected failure"
    for body, field in [({"webhookDelayS": -1}, "webhookDelayS"),
                        ({"failNextWebhooks": 1.5}, "failNextWebhooks"),
                        ({"delay": 1}, "delay")]:
        bad = await h.http.post(url, json=body)
        assert bad.status_code == 400 and field in bad.json()["message"]
