"""Relay of glasses events and audio to subscribed apps (§4, §6.6)."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from tests.cloud.conftest import QUIET, Harness, running_app, subscribed

EMAIL = "alice@example.com"
PKG = "com.example.echo"
SID = f"{EMAIL}-{PKG}"

EVENTS: dict[str, dict[str, Any]] = {
    "button_press": {"buttonId": "main", "pressType": "long"},
    "head_position": {"position": "down"},
    "glasses_battery_update": {"level": 42, "charging": False, "timeRemaining": 90},
    "phone_battery_update": {"level": 77, "charging": True},
    "location_update": {"lat": 52.5, "lng": 13.4, "accuracy": 5, "correlationId": "c1"},
    "calendar_event": {
        "eventId": "e1",
        "title": "Standup",
        "dtStart": "2026-01-01T09:00:00Z",
        "dtEnd": "2026-01-01T09:15:00Z",
        "timezone": "UTC",
        "timeStamp": "1767258000000",
    },
    "phone_notification": {
        "notificationId": "n1",
        "app": "Mail",
        "title": "Hi",
        "content": "Hello",
        "priority": "high",
    },
    "phone_notification_dismissed": {"notificationId": "n1", "app": "Mail"},
    "glasses_connection_state": {
        "modelName": "Even Realities G1",
        "status": "CONNECTED",
        "wifi": {"connected": True, "ssid": "lab"},
    },
    "VAD": {"status": True},
}


@pytest.mark.parametrize("event_type", sorted(EVENTS))
async def test_glasses_event_is_relayed_to_its_subscriber(
    harness: Harness, event_type: str
) -> None:
    app = await harness.app_server(PKG, subscriptions=[event_type])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    sent = await glasses.send_event(event_type, **EVENTS[event_type])
    event = await sock.next_message("data_stream", where=lambda m: m["data"] == sent)
    assert event["streamType"] == event_type
    assert event["sessionId"] == SID
    assert isinstance(event["timestamp"], str)


@pytest.mark.parametrize("wildcard", ["*", "all"])
async def test_wildcard_subscriber_gets_events_under_their_base_type(
    harness: Harness, wildcard: str
) -> None:
    app = await harness.app_server(PKG, subscriptions=[wildcard])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.press_button("w")
    await glasses.send_event("head_position", position="up")
    first = await sock.next_message("data_stream")
    second = await sock.next_message("data_stream")
    assert (first["streamType"], second["streamType"]) == ("button_press", "head_position")
    assert first["data"]["buttonId"] == "w"


async def test_wildcard_subscriber_gets_no_audio(harness: Harness) -> None:
    app = await harness.app_server(PKG, subscriptions=["*"])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.send_bytes(b"\x00\x01" * 160)
    await glasses.press_button("after-audio")
    # The button press follows the audio on the same socket; audio would come first.
    await sock.next_message("data_stream")
    assert sock.inbox.all("binary") == []


async def test_event_is_not_relayed_to_non_subscribers(harness: Harness) -> None:
    listener = await harness.app_server("com.example.listener", subscriptions=["button_press"])
    other = await harness.app_server("com.example.other", subscriptions=["head_position"])
    background = {"com.example.listener": "background", "com.example.other": "background"}
    cloud = await harness.cloud(listener, other, types=background)
    glasses = await harness.glasses(cloud, EMAIL)
    listener_sock = await running_app(harness, glasses, listener)
    other_sock = await running_app(harness, glasses, other)
    await glasses.press_button("only-listener")
    await listener_sock.next_message("data_stream")
    await other_sock.expect_silence("data_stream", QUIET)


async def test_binary_audio_reaches_audio_chunk_subscribers_unchanged(harness: Harness) -> None:
    app = await harness.app_server(PKG, subscriptions=["audio_chunk"])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    frames = [struct.pack("<I", n) + bytes(316) for n in range(3)]
    for frame in frames:
        await glasses.send_bytes(frame)
    received = [await sock.next_binary() for _ in frames]
    assert received == frames


@pytest.mark.parametrize(
    "subscription",
    [
        "transcription:en-US",
        "transcription:en-US?no-language-identification=true",
        "transcription",
    ],
)
async def test_transcription_uses_the_apps_own_stream_string(
    harness: Harness, subscription: str
) -> None:
    app = await harness.app_server(PKG, subscriptions=[subscription])
    # Segment 1000 ms protocol = 100 ms wall of audio at 16 kHz mono s16le.
    cloud = await harness.cloud(app, transcription_segment_ms=1000)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.send_event("VAD", status=True)
    # 1 s of audio in 10 frames of 100 ms (3200 bytes each), counter in the first 4 bytes.
    for n in range(10):
        await glasses.send_bytes(struct.pack("<I", n) + bytes(3196))
    event = await sock.next_message("data_stream")
    assert event["streamType"] == subscription
    data = event["data"]
    assert data["type"] == "transcription"
    assert data["isFinal"] is True
    assert data["text"].startswith("frames ")
    assert data["transcribeLanguage"] == "en-US"


@pytest.mark.parametrize("spelling", ["notification_dismissed", "phone_notification_dismissed"])
async def test_notification_dismissed_alias_subscribers_get_both_spellings(
    harness: Harness, spelling: str
) -> None:
    app = await harness.app_server(PKG, subscriptions=[spelling])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.send_event("phone_notification_dismissed", notificationId="a")
    await glasses.send_event("notification_dismissed", notificationId="b")
    first = await sock.next_message("data_stream")
    second = await sock.next_message("data_stream")
    assert [first["data"]["notificationId"], second["data"]["notificationId"]] == ["a", "b"]
    assert first["streamType"] == second["streamType"] == spelling


async def test_cached_location_is_replayed_to_a_new_subscriber(harness: Harness) -> None:
    app = await harness.app_server(PKG, subscriptions=["button_press"])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    sent = await glasses.send_event("location_update", lat=1.5, lng=2.5)
    # The app is not subscribed yet; sync on a later relayed event before subscribing.
    await glasses.press_button("sync")
    await sock.next_message("data_stream")
    await sock.subscribe(["location_update"])
    replay = await sock.next_message(
        "data_stream", where=lambda m: m["streamType"] == "location_update"
    )
    assert (replay["data"]["lat"], replay["data"]["lng"]) == (sent["lat"], sent["lng"])


async def test_cached_calendar_events_are_replayed_to_a_new_subscriber(harness: Harness) -> None:
    app = await harness.app_server(PKG, subscriptions=["button_press"])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.send_event("calendar_event", **{**EVENTS["calendar_event"], "eventId": "one"})
    await glasses.send_event("calendar_event", **{**EVENTS["calendar_event"], "eventId": "two"})
    await glasses.press_button("sync")
    await sock.next_message("data_stream")
    await sock.subscribe(["calendar_event"])
    ids = []
    for _ in range(2):
        event = await sock.next_message(
            "data_stream", where=lambda m: m["streamType"] == "calendar_event"
        )
        ids.append(event["data"]["eventId"])
    assert sorted(ids) == ["one", "two"]


async def test_events_keep_their_order(harness: Harness) -> None:
    app = await harness.app_server(PKG, subscriptions=["button_press"])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    for n in range(50):
        await glasses.press_button(str(n))
    got = [(await sock.next_message("data_stream"))["data"]["buttonId"] for _ in range(50)]
    assert got == [str(n) for n in range(50)]


async def test_relay_routes_by_bound_socket_not_message_fields(harness: Harness) -> None:
    # §6.1 routing: later messages on the socket belong to the bound app whatever their
    # sessionId/packageName say.
    app = await harness.app_server(PKG, subscriptions=["button_press"])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    mark = glasses.mark()
    await sock.send_json(
        {
            "type": "subscription_update",
            "packageName": "com.somebody.else",
            "sessionId": "bob@example.com-com.somebody.else",
            "subscriptions": ["head_position"],
        }
    )
    await subscribed(glasses, PKG, ["head_position"], since=mark)
    await glasses.send_event("head_position", position="up")
    assert (await sock.next_message("data_stream"))["streamType"] == "head_position"


async def test_android_spellings_are_accepted(harness: Harness) -> None:
    # §2/§4: clients may send epoch-ms timestamps (Android) and calendar `timeZone`.
    app = await harness.app_server(PKG, subscriptions=["calendar_event", "button_press"])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    calendar = {**EVENTS["calendar_event"], "type": "calendar_event", "timestamp": 1767258000000}
    del calendar["timezone"]
    calendar["timeZone"] = "Europe/Berlin"
    await glasses.send_json(calendar)
    press = {"type": "button_press", "buttonId": "a", "pressType": "short", "timestamp": 17}
    await glasses.send_json(press)
    first = await sock.next_message("data_stream")
    second = await sock.next_message("data_stream")
    assert first["data"]["timeZone"] == "Europe/Berlin"
    assert second["data"]["buttonId"] == "a"
    assert not glasses.is_closed


@pytest.mark.parametrize("status", [True, "true"])
async def test_vad_status_as_bool_or_string_is_relayed(harness: Harness, status: object) -> None:
    app = await harness.app_server(PKG, subscriptions=["VAD"])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.send_event("VAD", status=status)
    event = await sock.next_message("data_stream")
    assert event["data"]["status"] == status


async def _one_second_of_audio(glasses: Any) -> None:
    for n in range(10):  # 16 kHz s16le mono: 100 ms = 3200 bytes, counter first
        await glasses.send_bytes(struct.pack("<I", n) + bytes(3196))


async def test_wildcard_subscriber_gets_no_transcription(harness: Harness) -> None:
    listener = await harness.app_server("com.example.listener", subscriptions=["*"])
    scribe = await harness.app_server("com.example.scribe", subscriptions=["transcription:en-US"])
    background = {"com.example.listener": "background", "com.example.scribe": "background"}
    cloud = await harness.cloud(listener, scribe, types=background)
    glasses = await harness.glasses(cloud, EMAIL)
    listener_sock = await running_app(harness, glasses, listener)
    scribe_sock = await running_app(harness, glasses, scribe)
    await glasses.send_event("VAD", status=True)
    await _one_second_of_audio(glasses)
    await scribe_sock.next_message("data_stream")  # a transcription exists
    await glasses.press_button("marker")  # sent after the audio: arrives after any relay
    await listener_sock.next_message(
        "data_stream", where=lambda m: m["streamType"] == "button_press"
    )
    kinds = [m["streamType"] for m in listener_sock.received("data_stream")]
    assert all(not k.startswith("transcription") for k in kinds), kinds


async def test_vad_false_keeps_transcription_running(harness: Harness) -> None:
    app = await harness.app_server(PKG, subscriptions=["transcription:en-US"])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.send_event("VAD", status=True)
    await glasses.send_event("VAD", status=False)
    await _one_second_of_audio(glasses)
    event = await sock.next_message("data_stream")
    assert event["data"]["type"] == "transcription"
