"""subscription_update: full replacement, permission filtering, invalid streams (§6.2-6.4)."""

from __future__ import annotations

from tests.cloud.conftest import QUIET, Harness, running_app, subscribed

EMAIL = "alice@example.com"
PKG = "com.example.echo"


async def test_each_update_replaces_the_whole_set(harness: Harness) -> None:
    app = await harness.app_server(PKG, subscriptions=["button_press"])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    mark = glasses.mark()
    await sock.subscribe(["head_position"])
    await subscribed(glasses, PKG, ["head_position"], since=mark)
    await glasses.press_button("dropped")
    await glasses.send_event("head_position", position="up")
    event = await sock.next_message("data_stream")
    assert event["streamType"] == "head_position"
    # The button press was sent first; had it been relayed it would have come first.
    assert not [m for m in sock.received("data_stream") if m["streamType"] == "button_press"]
    view = await harness.app_view(cloud, EMAIL, PKG)
    assert view["subscriptions"] == ["head_position"]


async def test_empty_update_clears_the_set(harness: Harness) -> None:
    app = await harness.app_server(PKG, subscriptions=["button_press"])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    mark = glasses.mark()
    await sock.subscribe([])
    await subscribed(glasses, PKG, [], since=mark)
    await glasses.press_button()
    await sock.expect_silence("data_stream", QUIET)
    assert (await harness.app_view(cloud, EMAIL, PKG))["subscriptions"] == []


async def test_subscription_update_sends_app_state_change(harness: Harness) -> None:
    app = await harness.app_server(PKG, subscriptions=[])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    mark = glasses.mark()
    await sock.subscribe(["button_press", "head_position"])
    change = await subscribed(
        glasses, PKG, ["button_press", "head_position"], since=mark
    )
    assert change["sessionId"] == EMAIL


async def test_unpermitted_streams_get_permission_error_and_socket_stays_open(
    harness: Harness,
) -> None:
    app = await harness.app_server(PKG, subscriptions=[])
    cloud = await harness.cloud(app, permissions={PKG: ()})
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    mark = glasses.mark()
    await sock.subscribe(["audio_chunk", "location_update", "button_press", "calendar_event"])
    error = await sock.next_message("permission_error")
    assert isinstance(error["message"], str)
    details = {d["stream"]: d["requiredPermission"] for d in error["details"]}
    assert details == {
        "audio_chunk": "MICROPHONE",
        "location_update": "LOCATION",
        "calendar_event": "CALENDAR",
    }
    await subscribed(glasses, PKG, ["button_press"], since=mark)
    await glasses.press_button("allowed")
    event = await sock.next_message("data_stream")
    assert event["data"]["buttonId"] == "allowed"
    assert not sock.is_closed
    assert (await harness.app_view(cloud, EMAIL, PKG))["subscriptions"] == ["button_press"]


async def test_permission_covers_its_streams(harness: Harness) -> None:
    app = await harness.app_server(PKG, subscriptions=[])
    cloud = await harness.cloud(app, permissions={PKG: ("MICROPHONE", "READ_NOTIFICATIONS")})
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    streams = ["audio_chunk", "transcription:en-US", "VAD", "phone_notification"]
    mark = glasses.mark()
    await sock.subscribe(streams)
    await subscribed(glasses, PKG, streams, since=mark)
    # Window QUIET: a permission_error would be sent right after the update.
    await sock.expect_silence("permission_error", QUIET)


async def test_invalid_stream_is_malformed_message_and_close_1008(harness: Harness) -> None:
    app = await harness.app_server(PKG, subscriptions=[])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.subscribe(["button_press", "no_such_stream"])
    error = await sock.next_message("tpa_connection_error")
    assert error["code"] == "MALFORMED_MESSAGE"
    close = await sock.wait_closed()
    assert close.code == 1008


async def test_bad_transcription_language_is_malformed_message(harness: Harness) -> None:
    app = await harness.app_server(PKG, subscriptions=[])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.subscribe(["transcription:english"])
    error = await sock.next_message("tpa_connection_error")
    assert error["code"] == "MALFORMED_MESSAGE"
    assert (await sock.wait_closed()).code == 1008


async def test_location_stream_object_form_is_accepted(harness: Harness) -> None:
    app = await harness.app_server(PKG, subscriptions=[])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    mark = glasses.mark()
    await sock.subscribe([{"stream": "location_stream", "rate": "high"}])
    await subscribed(glasses, PKG, ["location_stream"], since=mark)
    assert not sock.is_closed


async def test_subscriptions_are_kept_per_user(harness: Harness) -> None:
    app = await harness.app_server(PKG, subscriptions=["button_press"])
    cloud = await harness.cloud(app)
    alice = await harness.glasses(cloud, "alice@example.com")
    bob = await harness.glasses(cloud, "bob@example.com")
    alice_sock = await running_app(harness, alice, app)
    bob_sock = await running_app(harness, bob, app)
    mark = bob.mark()
    await bob_sock.subscribe(["head_position"])
    await subscribed(bob, PKG, ["head_position"], since=mark)
    await alice.press_button("alice")
    assert (await alice_sock.next_message("data_stream"))["data"]["buttonId"] == "alice"
    await bob.press_button("bob")
    await bob_sock.expect_silence("data_stream", QUIET)
    assert (await harness.app_view(cloud, "alice@example.com", PKG))["subscriptions"] == [
        "button_press"
    ]
