"""Glasses socket loss, reconnect and user-session dispose (§9.2)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.cloud.conftest import QUIET, SCALE, Harness, running_app
from tests.cloud.peers import WebhookMode

EMAIL = "alice@example.com"
PKG = "com.example.echo"
SID = f"{EMAIL}-{PKG}"


async def _user_state(harness: Harness, cloud: Any, state: str) -> bool:
    user = await harness.user(cloud, EMAIL)
    return user is not None and user["state"] == state


async def test_new_glasses_socket_replaces_old_with_1000(harness: Harness) -> None:
    cloud = await harness.cloud()
    old = await harness.glasses(cloud, EMAIL)
    await old.next_message("connection_ack")
    new = await harness.glasses(cloud, EMAIL)
    ack = await new.next_message("connection_ack")
    assert ack["sessionId"] == EMAIL
    close = await old.wait_closed()
    assert (close.code, close.reason) == (1000, "Replaced by new connection")
    user = await harness.user(cloud, EMAIL)
    assert user is not None
    assert user["glassesSockets"] == 1
    assert user["state"] == "CONNECTED"


async def test_reconnect_within_grace_reattaches_the_same_session(harness: Harness) -> None:
    # Timeline: glasses grace 600 s protocol (60 s wall, longer than the test). The
    # glasses drop, the session goes CONNECTING, the glasses come back: same session,
    # app untouched, relays flow through the new socket.
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, glasses_grace_s=600)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    before = await harness.user(cloud, EMAIL)
    assert before is not None
    await glasses.close()
    await harness.until(lambda: _user_state(harness, cloud, "CONNECTING"), what="CONNECTING")
    again = await harness.glasses(cloud, EMAIL)
    ack = await again.next_message("connection_ack")
    assert PKG in ack["userSession"]["activeAppSessions"]
    assert ack["userSession"]["appSubscriptions"][PKG] == ["button_press"]
    await again.press_button("back")
    assert (await sock.next_message("data_stream"))["data"]["buttonId"] == "back"
    after = await harness.user(cloud, EMAIL)
    assert after is not None
    assert after["state"] == "CONNECTED"
    assert after["disconnectedAt"] is None
    assert (await harness.app_view(cloud, EMAIL, PKG))["startedAt"] == next(
        a["startedAt"] for a in before["apps"] if a["packageName"] == PKG
    )
    assert app.webhook_count("session_request") == 1
    assert not sock.is_closed


async def test_glasses_loss_leaves_apps_and_their_sockets_untouched(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, glasses_grace_s=600)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.close()
    await harness.until(lambda: _user_state(harness, cloud, "CONNECTING"), what="CONNECTING")
    user = await harness.user(cloud, EMAIL)
    assert user is not None and user["disconnectedAt"] is not None
    assert (await harness.app_view(cloud, EMAIL, PKG))["state"] == "running"
    await app.expect_no_webhook("stop_request", QUIET)
    assert not sock.is_closed


async def test_grace_expiry_disposes_the_session(harness: Harness) -> None:
    # Timeline: glasses grace 5 s protocol = 0.5 s wall. The glasses close at t0; at
    # ~t0+0.5 s the cloud disposes: stop_request(system_stop), app_stopped(system_stop),
    # close 1000 "User session ended", and the user leaves /api/sessions.
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, glasses_grace_s=5)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    loop = asyncio.get_running_loop()
    closed_at = loop.time()
    await glasses.close()
    stop = await app.next_webhook("stop_request")
    assert stop.body["sessionId"] == SID
    assert stop.body["reason"] == "system_stop"
    assert stop.at - closed_at >= 5 * SCALE * 0.8
    stopped = await sock.next_message("app_stopped")
    assert stopped.get("reason") == "system_stop"
    close = await sock.wait_closed()
    assert (close.code, close.reason) == (1000, "User session ended")
    await harness.until(
        lambda: _no_users(harness, cloud), what="no users left in /api/sessions"
    )
    await harness.until(lambda: _no_connections(harness, cloud), what="no sockets left")


async def _no_connections(harness: Harness, cloud: Any) -> bool:
    connections = (await harness.sessions(cloud))["connections"]
    return bool(connections == {"glasses": 0, "app": 0, "app_unbound": 0})


async def _no_users(harness: Harness, cloud: Any) -> bool:
    return bool((await harness.sessions(cloud))["users"] == [])


async def test_dispose_removes_subscriptions_for_the_next_session(harness: Harness) -> None:
    # D9 off: after dispose and a fresh connect the old subscription set is gone, so a
    # relay does not reach anyone until the app subscribes again.
    app = await harness.app_server(PKG, mode=WebhookMode.SDK)
    cloud = await harness.cloud(app, glasses_grace_s=5)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.close()
    await sock.wait_closed()
    await harness.until(lambda: _no_users(harness, cloud), what="session disposed")
    again = await harness.glasses(cloud, EMAIL)
    ack = await again.next_message("connection_ack")
    assert ack["userSession"]["appSubscriptions"].get(PKG) in (None, [])


async def test_reconnect_after_dispose_starts_a_new_session(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, glasses_grace_s=5)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.close()
    await sock.wait_closed()
    await harness.until(lambda: _no_users(harness, cloud), what="session disposed")
    again = await harness.glasses(cloud, EMAIL)
    await again.next_message("connection_ack")
    user = await harness.user(cloud, EMAIL)
    assert user is not None and user["state"] == "CONNECTED"


async def test_two_users_are_isolated_when_one_is_disposed(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, glasses_grace_s=5)
    alice = await harness.glasses(cloud, EMAIL)
    bob = await harness.glasses(cloud, "bob@example.com")
    alice_sock = await running_app(harness, alice, app)
    bob_sock = await running_app(harness, bob, app)
    await alice.close()
    await alice_sock.wait_closed()
    await bob.press_button("bob-alive")
    assert (await bob_sock.next_message("data_stream"))["data"]["buttonId"] == "bob-alive"
    await harness.until(
        lambda: _only_bob(harness, cloud), what="only bob left in /api/sessions"
    )


async def _only_bob(harness: Harness, cloud: Any) -> bool:
    users = (await harness.sessions(cloud))["users"]
    return [u["userId"] for u in users] == ["bob@example.com"]


async def test_transcription_restarts_after_glasses_reconnect(harness: Harness) -> None:
    # D7 off: VAD true was sent before the drop only; after a reconnect within grace,
    # audio produces transcriptions again without a new VAD.
    import struct

    app = await harness.app_server(PKG, subscriptions=["transcription:en-US"])
    cloud = await harness.cloud(app, glasses_grace_s=600)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.send_event("VAD", status=True)
    await glasses.close()
    again = await harness.glasses(cloud, EMAIL)
    await again.next_message("connection_ack")
    for n in range(10):  # 1 s of 16 kHz s16le audio in 100 ms frames
        await again.send_bytes(struct.pack("<I", n) + bytes(3196))
    event = await sock.next_message("data_stream")
    assert event["streamType"] == "transcription:en-US"
    assert event["data"]["type"] == "transcription"


async def test_microphone_turns_on_for_an_audio_subscriber(harness: Harness) -> None:
    app = await harness.app_server(PKG, subscriptions=["audio_chunk"])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    await running_app(harness, glasses, app)
    change = await glasses.next_message(
        "microphone_state_change", where=lambda m: m["isMicrophoneEnabled"] is True
    )
    assert change["sessionId"] == EMAIL
    assert change["requiredData"] == ["pcm"]
    assert change["bypassVad"] is False


async def test_new_session_restarts_persisted_running_apps(harness: Harness) -> None:
    # §9.2: a new session loads the user's persisted runningApps (kept across dispose)
    # and starts them without a start_app. Timeline: glasses grace 0.5 s wall.
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, glasses_grace_s=5)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await app.next_webhook("session_request")
    await glasses.close()
    await sock.wait_closed()
    await harness.until(lambda: _no_users(harness, cloud), what="session disposed")
    await harness.glasses(cloud, EMAIL)
    again = await app.next_webhook("session_request")
    assert again.body["sessionId"] == SID
    new_sock = await app.next_socket()
    assert new_sock.session_id == SID


async def test_new_session_does_not_restart_a_stopped_app(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, glasses_grace_s=5)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.stop_app(PKG)
    await sock.wait_closed()
    await glasses.close()
    await harness.until(lambda: _no_users(harness, cloud), what="session disposed")
    again = await harness.glasses(cloud, EMAIL)
    await again.next_message("connection_ack")
    await app.expect_no_webhook("session_request", QUIET)
    assert app.webhook_count("session_request") == 1
