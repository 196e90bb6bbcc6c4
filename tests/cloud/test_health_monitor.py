"""Ping and pong deadline (§9.4): a silent peer is closed 1001 within deadline + interval.

The silent peers complete the WebSocket handshake and then never send a byte, so the
cloud's pings go unanswered (a half-open link as the cloud sees it).
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.cloud.conftest import SECRET, Harness, running_app
from tests.cloud.peers import SilentSocket, close_payload

EMAIL = "alice@example.com"
PKG = "com.example.echo"
SID = f"{EMAIL}-{PKG}"

# Protocol timings for this file: ping every 1 s, deadline 2 s, scaled by 0.1 ->
# ping 0.1 s, deadline 0.2 s wall. The close must come between 0.2 and 0.3 s after the
# last pong (here: after the handshake, as the peer never answers one).
SCALE = 0.1
PING_S = 1.0
DEADLINE_S = 2.0
SLACK_S = 0.5  # wall seconds of scheduling slack on a shared 2-core machine


async def test_silent_glasses_socket_is_closed_1001_within_deadline(harness: Harness) -> None:
    from wsquake.cloud import mint_token

    cloud = await harness.cloud(
        time_scale=SCALE, ping_interval_s=PING_S, pong_deadline_s=DEADLINE_S, glasses_grace_s=600
    )
    loop = asyncio.get_running_loop()
    headers = {"Authorization": f"Bearer {mint_token(SECRET, EMAIL)}"}
    async with SilentSocket.connect(cloud.ws_url("/glasses-ws"), headers=headers) as silent:
        opened = loop.time()
        frame, closed_at = await silent.read_until_close(timeout=10)
    assert frame is not None, "TCP dropped without a close frame"
    assert close_payload(frame) == (1001, "Ping timeout - no pong received")
    assert silent.pings(), "the cloud never pinged"
    elapsed = closed_at - opened
    assert DEADLINE_S * SCALE * 0.8 <= elapsed <= (DEADLINE_S + PING_S) * SCALE + SLACK_S
    assert await harness.metric(cloud, "wsquake_cloud_pong_timeouts_total", kind="glasses") == 1


async def test_glasses_pong_timeout_moves_session_to_connecting(harness: Harness) -> None:
    from wsquake.cloud import mint_token

    cloud = await harness.cloud(
        time_scale=SCALE, ping_interval_s=PING_S, pong_deadline_s=DEADLINE_S, glasses_grace_s=600
    )
    headers = {"Authorization": f"Bearer {mint_token(SECRET, EMAIL)}"}
    async with SilentSocket.connect(cloud.ws_url("/glasses-ws"), headers=headers) as silent:
        await silent.read_until_close(timeout=10)
    user = await harness.until(lambda: _connecting(harness, cloud), what="CONNECTING")
    assert user["disconnectedAt"] is not None


async def _connecting(harness: Harness, cloud: Any) -> dict[str, object] | None:
    user = await harness.user(cloud, EMAIL)
    return user if user is not None and user["state"] == "CONNECTING" else None


async def test_answering_client_is_not_closed(harness: Harness) -> None:
    # The websockets client answers pings: over 3 deadlines nothing closes it.
    cloud = await harness.cloud(
        time_scale=SCALE, ping_interval_s=PING_S, pong_deadline_s=DEADLINE_S
    )
    glasses = await harness.glasses(cloud, EMAIL)
    await glasses.next_message("connection_ack")
    await glasses.expect_silence(None, 3 * DEADLINE_S * SCALE)
    assert not glasses.is_closed
    assert await harness.metric(cloud, "wsquake_cloud_pong_timeouts_total") == 0


async def test_silent_app_socket_is_closed_1001_and_app_enters_grace(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(
        app,
        time_scale=SCALE,
        ping_interval_s=PING_S,
        pong_deadline_s=DEADLINE_S,
        app_grace_s=600,
        glasses_grace_s=600,
    )
    glasses = await harness.glasses(cloud, EMAIL)
    first = await running_app(harness, glasses, app)
    loop = asyncio.get_running_loop()
    async with SilentSocket.connect(cloud.ws_url("/app-ws")) as silent:
        # Send the init through the sans-I/O protocol, then go silent.
        import json

        silent.protocol.send_text(
            json.dumps(
                {
                    "type": "tpa_connection_init",
                    "sessionId": SID,
                    "packageName": PKG,
                    "apiKey": app.api_key,
                }
            ).encode()
        )
        await silent.flush()
        opened = loop.time()
        frame, closed_at = await silent.read_until_close(timeout=10)
    assert frame is not None
    assert close_payload(frame) == (1001, "Ping timeout - no pong received")
    assert closed_at - opened <= (DEADLINE_S + PING_S) * SCALE + SLACK_S
    # The silent socket had superseded the SDK-like one, so its loss is the app's loss.
    assert (await first.wait_closed()).code == 1008
    await harness.until(
        lambda: _app_state(harness, cloud, "grace_period"), what="app in grace_period"
    )
    assert await harness.metric(cloud, "wsquake_cloud_pong_timeouts_total", kind="app") == 1


async def _app_state(harness: Harness, cloud: Any, state: str) -> bool:
    view = await harness.app_view(cloud, EMAIL, PKG)
    return bool(view["state"] == state)
