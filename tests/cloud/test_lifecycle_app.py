"""App socket loss: grace, reconnect, resurrection, socket identity (§9.3 A2, A4, A5)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.cloud.conftest import SCALE, Harness, running_app, subscribed
from tests.cloud.peers import WebhookMode

EMAIL = "alice@example.com"
PKG = "com.example.echo"
SID = f"{EMAIL}-{PKG}"


async def test_unexpected_close_puts_app_in_grace_period(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    # App grace 100 s protocol = 10 s wall: still in grace when we look.
    cloud = await harness.cloud(app, app_grace_s=100)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.close(1001)  # any code counts as a loss when not stopping
    view = await harness.until(
        lambda: _app_in(harness, cloud, "grace_period"), what="app in grace_period"
    )
    assert view["subscriptions"] == ["button_press"]
    assert view["boundConn"] in (None, "", 0) or view["sockets"] == 0


async def _app_in(harness: Harness, cloud: Any, state: str) -> dict[str, object] | None:
    user = await harness.user(cloud, EMAIL)
    if user is None:
        return None
    for app in user["apps"]:
        if app["packageName"] == PKG and app["state"] == state:
            return dict(app)
    return None


async def test_reconnect_within_grace_keeps_subscriptions_and_data_flow(
    harness: Harness,
) -> None:
    # Timeline: grace 100 s protocol (10 s wall). The app drops at t0, the glasses send a
    # button press while the app is away (buffered), the app reconnects with the same
    # session id and sends NO subscription_update: the kept set and the buffer apply.
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, app_grace_s=100)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    ws_url = f"ws://127.0.0.1:{cloud.port}/app-ws"
    await sock.close(1011)
    await harness.until(lambda: _app_in(harness, cloud, "grace_period"), what="grace_period")
    await glasses.press_button("during-grace")
    again = await harness.app_socket(cloud)
    await again.handshake(SID, PKG, app.api_key)
    flushed = await again.next_message("data_stream")
    assert flushed["data"]["buttonId"] == "during-grace"
    await glasses.press_button("after")
    fresh = await again.next_message("data_stream")
    assert fresh["data"]["buttonId"] == "after"
    view = await harness.app_view(cloud, EMAIL, PKG)
    assert view["state"] == "running"
    assert view["subscriptions"] == ["button_press"]
    assert view["resurrections"] == 0
    await app.expect_no_webhook("stop_request", 2 * SCALE)
    del ws_url


async def test_grace_expiry_resurrects_with_the_same_session_id(harness: Harness) -> None:
    # Timeline: app grace 5 s protocol = 0.5 s wall. The socket drops at t0 and nothing
    # reconnects; at ~t0+0.5 s the cloud sends stop_request then session_request with the
    # same session id; the peer (SDK mode) connects again and the app is running again.
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, app_grace_s=5)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    first_request = await app.next_webhook("session_request")
    loop = asyncio.get_running_loop()
    dropped_at = loop.time()
    mark = glasses.mark()
    await sock.close(1001)
    stop = await app.next_webhook("stop_request")
    assert stop.body["sessionId"] == SID
    assert stop.at - dropped_at >= 5 * SCALE * 0.8
    again = await app.next_webhook("session_request")
    assert again.body["sessionId"] == first_request.body["sessionId"] == SID
    assert again.at >= stop.at
    new_sock = await app.next_socket()
    await subscribed(glasses, PKG, ["button_press"], since=mark)
    await glasses.press_button("resurrected")
    assert (await new_sock.next_message("data_stream"))["data"]["buttonId"] == "resurrected"
    view = await harness.app_view(cloud, EMAIL, PKG)
    assert view["resurrections"] == 1
    assert await harness.metric(cloud, "wsquake_cloud_app_resurrections_total") == 1


async def test_newer_init_supersedes_bound_socket_with_1008(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, app_grace_s=5)
    glasses = await harness.glasses(cloud, EMAIL)
    old = await running_app(harness, glasses, app)
    new = await harness.app_socket(cloud)
    await new.handshake(SID, PKG, app.api_key)
    close = await old.wait_closed()
    assert (close.code, close.reason) == (1008, "Superseded by a newer connection")
    assert await harness.metric(cloud, "wsquake_cloud_superseded_sockets_total") == 1


async def test_late_close_of_superseded_socket_does_not_unbind_the_new_one(
    harness: Harness,
) -> None:
    # Timeline (grace 5 s protocol = 0.5 s wall): the new socket binds and the old one is
    # closed after it. Had that close unbound the new socket, the app would go to grace
    # and be resurrected within 0.5 s; we watch for 2 grace periods.
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, app_grace_s=5)
    glasses = await harness.glasses(cloud, EMAIL)
    old = await running_app(harness, glasses, app)
    new = await harness.app_socket(cloud)
    await new.handshake(SID, PKG, app.api_key)
    await old.wait_closed()
    await app.expect_no_webhook("stop_request", 10 * SCALE)
    await glasses.press_button("to-new")
    assert (await new.next_message("data_stream"))["data"]["buttonId"] == "to-new"
    assert old.received("data_stream") == []
    view = await harness.app_view(cloud, EMAIL, PKG)
    assert view["state"] == "running"
    assert view["sockets"] == 1


async def test_client_closing_old_socket_after_new_init_keeps_new_bound(
    harness: Harness,
) -> None:
    # The old socket stays open (detached) until the client closes it itself, after the
    # new init; that close must not unbind the new socket (D2 off).
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, app_grace_s=5)
    glasses = await harness.glasses(cloud, EMAIL)
    old = await running_app(harness, glasses, app)
    new = await harness.app_socket(cloud)
    await new.handshake(SID, PKG, app.api_key)
    if not old.is_closed:
        await old.close(1001)
    await app.expect_no_webhook("stop_request", 10 * SCALE)
    await glasses.press_button("still-new")
    assert (await new.next_message("data_stream"))["data"]["buttonId"] == "still-new"


async def test_resurrection_that_fails_leaves_app_disconnected(harness: Harness) -> None:
    # Timeline: grace 0.5 s wall, then resurrection's session_request gets 500 twice
    # (webhook backoff 1 s protocol = 0.1 s): the app ends disconnected.
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, app_grace_s=5)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    app.mode = WebhookMode.FAIL
    await sock.close(1011)
    await app.next_webhook("stop_request")
    await harness.until(
        lambda: _app_in(harness, cloud, "disconnected"), what="app disconnected", timeout=10
    )
    assert app.webhook_count("session_request") == 3  # the start + 2 failed attempts


async def test_clean_close_by_the_app_still_enters_grace(harness: Harness) -> None:
    # A4: any close of the bound socket while not stopping is a loss, even 1000.
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, app_grace_s=100)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.close(1000)
    view = await harness.until(
        lambda: _app_in(harness, cloud, "grace_period"), what="app in grace_period"
    )
    assert view["graceExpiresAt"] is not None


async def test_grace_buffer_is_bounded_and_overflow_is_counted(harness: Harness) -> None:
    # grace_buffer_messages=3: of 5 events relayed during grace, 3 are flushed on the
    # reconnect and 2 are dropped (reason "grace").
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, app_grace_s=100, grace_buffer_messages=3)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.close(1011)
    await harness.until(lambda: _app_in(harness, cloud, "grace_period"), what="grace_period")
    for n in range(5):
        await glasses.press_button(f"g{n}")
    await harness.until(
        lambda: harness.metric(cloud, "wsquake_cloud_messages_dropped_total", reason="grace"),
        what="grace overflow counted",
    )
    again = await harness.app_socket(cloud)
    await again.handshake(SID, PKG, app.api_key)
    await glasses.press_button("live")
    got: list[str] = []
    while not got or got[-1] != "live":
        got.append((await again.next_message("data_stream"))["data"]["buttonId"])
    assert len(got) == 4, got  # 3 buffered + the live one
    assert await harness.metric(
        cloud, "wsquake_cloud_messages_dropped_total", reason="grace"
    ) == 2
