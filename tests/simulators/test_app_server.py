"""The app server's webhook handling and session map (PROTOCOL.md §7.1, §10.1 AppServer),
against the real reference cloud or a scripted WebSocket peer on loopback."""

from __future__ import annotations

import asyncio

from tests.simulators.app_fixtures import (  # noqa: F401 - h is a fixture
    AppHarness,
    ScriptedCloud,
    free_refusing_port,
    h,
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
