"""Known upstream defects D3 (no pong deadline), D4 (unbounded stop webhook) and D5 (data
dropped during the app grace), each on through its switch or its zero timing setting, and
the fixed behaviour with it off (PROTOCOL.md §12)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.cloud.conftest import SECRET, Harness, running_app
from tests.cloud.peers import SilentSocket, WebhookMode, close_payload
from wsquake.cloud.settings import Defects

FIXED = Defects(profile="fixed")
EMAIL = "alice@example.com"
PKG = "com.example.echo"
SID = f"{EMAIL}-{PKG}"

# Liveness timeline (protocol s x SCALE): ping every 1 s, deadline 2 s -> 0.1 s / 0.2 s
# wall; a silent socket is closed within 0.3 s in the fixed cloud. "Never" is checked over
# WINDOW = 4 x (deadline + interval) = 1.2 s wall.
SCALE = 0.1
PING_S = 1.0
DEADLINE_S = 2.0
WINDOW = 4 * (DEADLINE_S + PING_S) * SCALE

# D3 on by its switch, or by pong_deadline_s = 0 (§12).
D3_WAYS = [
    pytest.param({"defects": Defects(no_pong_deadline=True)}, id="switch"),
    pytest.param({"defects": FIXED, "pong_deadline_s": 0}, id="pong_deadline_s=0"),
]


def _liveness(**extra: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "time_scale": SCALE,
        "ping_interval_s": PING_S,
        "pong_deadline_s": DEADLINE_S,
        "glasses_grace_s": 600,
        "app_grace_s": 600,
    }
    settings.update(extra)
    return settings


def _silent_glasses(cloud: Any) -> Any:
    from wsquake.cloud import mint_token

    headers = {"Authorization": f"Bearer {mint_token(SECRET, EMAIL)}"}
    return SilentSocket.connect(cloud.ws_url("/glasses-ws"), headers=headers)


# --- D3 no_pong_deadline -------------------------------------------------------------------


@pytest.mark.parametrize("way", D3_WAYS)
async def test_d3_silent_glasses_socket_stays_connected(
    harness: Harness, way: dict[str, Any]
) -> None:
    cloud = await harness.cloud(**_liveness(**way))
    async with _silent_glasses(cloud) as silent:
        with pytest.raises(TimeoutError):
            await silent.read_until_close(timeout=WINDOW)
        assert silent.pings(), "the cloud still pings under D3"
        user = await harness.user(cloud, EMAIL)
    assert user is not None
    assert user["state"] == "CONNECTED"
    assert user["lastPongAgeMs"] > DEADLINE_S * SCALE * 1000
    assert await harness.metric(cloud, "wsquake_cloud_pong_timeouts_total") == 0
    assert "no_pong_deadline" in (await harness.sessions(cloud))["defects"]


async def test_d3_off_silent_glasses_socket_is_closed_within_deadline(harness: Harness) -> None:
    cloud = await harness.cloud(**_liveness(defects=FIXED))
    async with _silent_glasses(cloud) as silent:
        frame, _ = await silent.read_until_close(timeout=WINDOW + 5)
    assert frame is not None
    assert close_payload(frame) == (1001, "Ping timeout - no pong received")


async def _silent_app(harness: Harness, defects: Defects) -> tuple[Any, Any, Any]:
    """A running app whose socket is superseded by one that inits, then goes silent."""
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, **_liveness(defects=defects))
    glasses = await harness.glasses(cloud, EMAIL)
    first = await running_app(harness, glasses, app)
    return app, cloud, (glasses, first)


async def _init_silently(silent: SilentSocket, api_key: str) -> None:
    init = {"type": "tpa_connection_init", "sessionId": SID, "packageName": PKG,
            "apiKey": api_key}
    silent.protocol.send_text(json.dumps(init).encode())
    await silent.flush()


async def test_d3_silent_app_socket_stays_running_and_data_goes_into_it(
    harness: Harness,
) -> None:
    app, cloud, (glasses, first) = await _silent_app(harness, Defects(no_pong_deadline=True))
    async with SilentSocket.connect(cloud.ws_url("/app-ws")) as silent:
        await _init_silently(silent, app.api_key)
        assert (await first.wait_closed()).code == 1008  # superseded by the silent one
        await glasses.press_button("into-a-dead-link")
        with pytest.raises(TimeoutError):
            await silent.read_until_close(timeout=WINDOW)
        view = await harness.app_view(cloud, EMAIL, PKG)
    assert view["state"] == "running"
    assert view["lastPongAgeMs"] > DEADLINE_S * SCALE * 1000
    assert await harness.metric(cloud, "wsquake_cloud_app_resurrections_total") == 0


async def test_d3_off_silent_app_socket_is_closed_and_app_enters_grace(
    harness: Harness,
) -> None:
    app, cloud, (glasses, first) = await _silent_app(harness, FIXED)
    async with SilentSocket.connect(cloud.ws_url("/app-ws")) as silent:
        await _init_silently(silent, app.api_key)
        frame, _ = await silent.read_until_close(timeout=WINDOW + 5)
    assert frame is not None and close_payload(frame)[0] == 1001
    view = await harness.app_view(cloud, EMAIL, PKG)
    assert view["state"] == "grace_period"


# --- D4 stop_webhook_unbounded ---------------------------------------------------------------

# Stop webhook timeout 2 s protocol = 0.2 s wall; "stuck" is checked over 1 s wall.
STOP_TIMEOUT_S = 2.0
STUCK_WINDOW = 1.0

D4_WAYS = [
    pytest.param({"defects": Defects(stop_webhook_unbounded=True)}, id="switch"),
    pytest.param({"defects": FIXED, "stop_webhook_timeout_s": 0}, id="stop_webhook_timeout_s=0"),
]


async def _stop_with_silent_webhook(harness: Harness, **settings: Any) -> tuple[Any, Any, Any]:
    """A running app whose app server accepts the stop webhook but never answers it."""
    app = await harness.app_server(PKG, stop_mode=WebhookMode.HOLD)
    settings.setdefault("stop_webhook_timeout_s", STOP_TIMEOUT_S)
    cloud = await harness.cloud(app, **settings)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.stop_app(PKG)
    await app.next_webhook("stop_request")
    return app, cloud, sock


@pytest.mark.parametrize("way", D4_WAYS)
async def test_d4_unanswered_stop_webhook_leaves_app_stopping(
    harness: Harness, way: dict[str, Any]
) -> None:
    app, cloud, sock = await _stop_with_silent_webhook(harness, **way)
    await sock.expect_silence("app_stopped", STUCK_WINDOW)
    assert not sock.is_closed
    view = await harness.app_view(cloud, EMAIL, PKG)
    assert (view["state"], view["subscriptions"]) == ("stopping", ["button_press"])
    app.release.set()  # the webhook finally answers: the stop completes
    await sock.next_message("app_stopped")
    assert (await sock.wait_closed()).code == 1000


async def test_d4_off_stop_completes_after_the_stop_webhook_timeout(harness: Harness) -> None:
    app, cloud, sock = await _stop_with_silent_webhook(harness, defects=FIXED)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await sock.next_message("app_stopped", timeout=STUCK_WINDOW + 5)
    assert loop.time() - started < STUCK_WINDOW + 5
    close = await sock.wait_closed()
    assert (close.code, close.reason) == (1000, "App stopped")
    view = await harness.app_view(cloud, EMAIL, PKG)
    assert (view["state"], view["subscriptions"]) == ("disconnected", [])
    assert await harness.metric(
        cloud, "wsquake_cloud_webhook_requests_total", type="stop_request", outcome="timeout"
    ) == 1


async def test_d4_dispose_stop_webhook_stays_bounded(harness: Harness) -> None:
    # Upstream's dispose sent no stop webhook (D13), so D4 does not make the one the
    # fixed dispose sends unbounded: glasses grace 5 s = 0.5 s wall, then the dispose
    # finishes after the 0.2 s stop webhook timeout although the webhook never answers.
    app = await harness.app_server(PKG, stop_mode=WebhookMode.HOLD)
    cloud = await harness.cloud(app, defects=Defects(stop_webhook_unbounded=True),
                                stop_webhook_timeout_s=STOP_TIMEOUT_S, glasses_grace_s=5)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.close()
    await app.next_webhook("stop_request")
    close = await sock.wait_closed(timeout=STUCK_WINDOW + 5)
    assert (close.code, close.reason) == (1000, "User session ended")


# --- D5 drop_during_grace ---------------------------------------------------------------------

D5_WAYS = [
    pytest.param({"defects": Defects(drop_during_grace=True)}, id="switch"),
    pytest.param({"defects": FIXED, "grace_buffer_messages": 0}, id="grace_buffer_messages=0"),
]


async def _press_during_grace(harness: Harness, **settings: Any) -> tuple[Any, Any]:
    """App socket lost (grace 100 s = 10 s wall), one press while away, then the SDK
    reconnects with the same session id and the glasses press once more."""
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, app_grace_s=100, time_scale=0.1, **settings)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.close(1011)

    async def in_grace() -> bool:
        return bool((await harness.app_view(cloud, EMAIL, PKG))["state"] == "grace_period")

    await harness.until(in_grace, what="grace_period")
    await glasses.press_button("during-grace")
    again = await harness.app_socket(cloud)
    await again.handshake(SID, PKG, app.api_key)
    await glasses.press_button("after")
    return cloud, again


@pytest.mark.parametrize("way", D5_WAYS)
async def test_d5_data_during_grace_is_dropped_not_replayed(
    harness: Harness, way: dict[str, Any]
) -> None:
    cloud, again = await _press_during_grace(harness, **way)
    first = await again.next_message("data_stream")
    assert first["data"]["buttonId"] == "after"  # the gap: "during-grace" is gone
    assert await harness.metric(
        cloud, "wsquake_cloud_messages_dropped_total", reason="grace"
    ) == 1


async def test_d5_off_data_during_grace_is_replayed_on_reconnect(harness: Harness) -> None:
    cloud, again = await _press_during_grace(harness, defects=FIXED)
    first = await again.next_message("data_stream")
    second = await again.next_message("data_stream")
    assert [first["data"]["buttonId"], second["data"]["buttonId"]] == ["during-grace", "after"]
    assert await harness.metric(
        cloud, "wsquake_cloud_messages_dropped_total", reason="grace"
    ) == 0
