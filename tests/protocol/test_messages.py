"""Parse/serialise for every message type: round trips, extras, seq, timestamps."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wsquake.protocol import (
    MESSAGE_TYPES,
    AppPermissionError,
    AppStateChange,
    AppStopped,
    AugmentosSettingsUpdate,
    ButtonPress,
    CalendarEvent,
    ConnectionAck,
    ConnectionError,
    ConnectionInit,
    CustomMessage,
    DashboardAlwaysOnChanged,
    DashboardContentUpdate,
    DashboardModeChange,
    DashboardModeChanged,
    DashboardSystemUpdate,
    DataStream,
    DisplayEvent,
    DisplayView,
    GlassesBatteryUpdate,
    GlassesConnectionState,
    GlassesEvent,
    HeadPosition,
    HeadPositionValue,
    LocationUpdate,
    Message,
    MicrophoneStateChange,
    NotificationDismissed,
    NotificationPriority,
    OwnershipRelease,
    PermissionErrorDetail,
    PhoneBatteryUpdate,
    PhoneNotification,
    PhoneNotificationDismissed,
    PressType,
    RequestSettings,
    ServerHeartbeat,
    ServerRegistration,
    SessionRequest,
    SettingsUpdate,
    StartApp,
    StopApp,
    StopRequest,
    SubscriptionUpdate,
    TpaConnectionAck,
    TpaConnectionError,
    TpaConnectionInit,
    TranscriptionData,
    TranslationData,
    UserSessionInfo,
    Vad,
    WifiInfo,
    iso_timestamp,
    parse,
    parse_app,
    parse_cloud_to_app,
    parse_cloud_to_glasses,
    parse_glasses,
    parse_stream_data,
    parse_webhook,
    serialise,
    to_dict,
)

ISO = "2025-06-25T12:00:00.000Z"
USER = "anne-marie@ex-ample.com"
PKG = "com.ex-ample.app"
SID = f"{USER}-{PKG}"

USER_SESSION = UserSessionInfo(
    user_id=USER,
    start_time=ISO,
    active_app_sessions=(PKG,),
    loading_apps=("com.other",),
    app_subscriptions={PKG: ("button_press", {"stream": "location_stream", "rate": "high"})},
    requires_audio=True,
    minimum_transcription_languages=("en-US",),
    is_transcribing=True,
)

# One fully populated instance of every modelled message type.
EXAMPLES: list[Message] = [
    ConnectionInit(core_token="tok", user_id=USER, timestamp=1750852800000),
    StartApp(package_name=PKG, timestamp=ISO),
    StopApp(package_name=PKG, timestamp=ISO),
    Vad(status=True, timestamp=ISO),
    HeadPosition(position=HeadPositionValue.UP, timestamp=ISO),
    ButtonPress(button_id="main", press_type=PressType.LONG, timestamp=ISO),
    GlassesBatteryUpdate(level=80, charging=False, time_remaining=120, timestamp=ISO),
    PhoneBatteryUpdate(level=55.5, charging=True, timestamp=ISO),
    LocationUpdate(lat=52.5, lng=13.4, accuracy=5.0, correlation_id="c1", timestamp=ISO),
    CalendarEvent(
        event_id="e1",
        title="Standup",
        dt_start=ISO,
        dt_end=ISO,
        timezone="Europe/Berlin",
        time_stamp=1750852800000,
    ),
    PhoneNotification(
        notification_id="n1",
        app="Mail",
        title="Hi",
        content="Hello",
        priority=NotificationPriority.HIGH,
        timestamp=ISO,
    ),
    PhoneNotificationDismissed(notification_id="n1", app="Mail", notification_key="k"),
    NotificationDismissed(notification_id="n1", title="Hi", content="Hello"),
    GlassesConnectionState(
        model_name="Even Realities G1",
        status="CONNECTED",
        wifi=WifiInfo(connected=True, ssid="lab"),
        timestamp=ISO,
    ),
    RequestSettings(session_id=USER, timestamp=ISO),
    ConnectionAck(session_id=USER, user_session=USER_SESSION, timestamp=ISO),
    ConnectionError(message="Invalid core token", code="INVALID_TOKEN", timestamp=ISO),
    DisplayEvent(
        package_name=PKG,
        view="main",
        layout={"layoutType": "text_wall", "text": "hello"},
        duration_ms=2000,
        force_display=True,
        session_id="",
        timestamp=ISO,
    ),
    AppStateChange(session_id=USER, user_session=USER_SESSION, timestamp=ISO),
    MicrophoneStateChange(
        session_id=USER,
        is_microphone_enabled=True,
        user_session=USER_SESSION,
        required_data=("pcm_or_transcription",),
        bypass_vad=False,
        timestamp=ISO,
    ),
    SettingsUpdate(session_id=USER, settings={"brightness": 50, "useOnboardMic": False}),
    TpaConnectionInit(session_id=SID, package_name=PKG, api_key="secret", timestamp=ISO),
    SubscriptionUpdate(
        package_name=PKG,
        session_id=SID,
        subscriptions=("transcription:en-US", {"stream": "location_stream", "rate": "high"}),
        timestamp=ISO,
    ),
    DashboardContentUpdate(
        content="12:00", modes=("main", "expanded"), package_name=PKG, session_id=f"{SID}-{PKG}"
    ),
    DashboardModeChange(mode="expanded", package_name=PKG),
    DashboardSystemUpdate(section="topLeft", content="9:41", package_name=PKG),
    OwnershipRelease(reason="switching_clouds", package_name=PKG, session_id=SID),
    TpaConnectionAck(
        session_id=SID,
        settings=({"key": "speed", "value": 3},),
        augmentos_settings={"brightness": 50},
        mentraos_settings={"brightness": 50},
        capabilities={"modelName": "G1", "hasCamera": False},
        timestamp=ISO,
    ),
    TpaConnectionError(code="SESSION_NOT_FOUND", message="Session not found", timestamp=ISO),
    AppPermissionError(
        message="Some subscriptions were rejected",
        details=(
            PermissionErrorDetail(
                stream="audio_chunk", required_permission="MICROPHONE", message="denied"
            ),
        ),
        timestamp=ISO,
    ),
    DataStream(
        session_id=SID,
        stream_type="button_press",
        data={"type": "button_press", "buttonId": "main", "pressType": "short", "seq": 4},
        timestamp=ISO,
    ),
    AppStopped(reason="user_disabled", timestamp=ISO),
    DashboardModeChanged(mode="main", timestamp=ISO),
    DashboardAlwaysOnChanged(enabled=True, timestamp=ISO),
    AugmentosSettingsUpdate(settings={"brightness": 70}, session_id=SID, timestamp=ISO),
    CustomMessage(action="ping_app", payload={"n": 1}, timestamp=ISO),
    SessionRequest(
        session_id=SID,
        user_id=USER,
        timestamp=ISO,
        augment_os_websocket_url="ws://127.0.0.1:1/app-ws",
        mentra_os_websocket_url="ws://127.0.0.1:1/app-ws",
    ),
    StopRequest(session_id=SID, user_id=USER, reason="user_disabled", timestamp=ISO),
    ServerRegistration(
        session_id="registration-r1",
        user_id="system",
        registration_id="r1",
        package_name=PKG,
        server_urls=("ws://a/app-ws",),
        timestamp=ISO,
    ),
    ServerHeartbeat(
        session_id="registration-r1", user_id="system", registration_id="r1", timestamp=ISO
    ),
]


def _id(m: Message) -> str:
    return m.type


def test_every_registered_type_has_an_example() -> None:
    assert {m.TYPE for m in EXAMPLES} == set(MESSAGE_TYPES)


@pytest.mark.parametrize("message", EXAMPLES, ids=_id)
def test_serialise_then_parse_returns_an_equal_message(message: Message) -> None:
    assert parse(serialise(message)) == message


@pytest.mark.parametrize("message", EXAMPLES, ids=_id)
def test_serialised_frame_is_compact_json_with_the_type_first(message: Message) -> None:
    text = serialise(message)
    obj = json.loads(text)
    assert next(iter(obj)) == "type"
    assert obj["type"] == message.TYPE
    assert text == json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("message", EXAMPLES, ids=_id)
def test_unknown_fields_survive_a_round_trip(message: Message) -> None:
    obj = to_dict(message)
    obj["seq"] = 17
    obj["vendorThing"] = {"nested": [1, 2]}
    again = parse(json.dumps(obj))
    assert again.extras == {"seq": 17, "vendorThing": {"nested": [1, 2]}}
    assert to_dict(again) == obj


def test_wire_keys_are_camel_case() -> None:
    obj = to_dict(
        TpaConnectionInit(session_id=SID, package_name=PKG, api_key="k", timestamp=ISO)
    )
    assert obj == {
        "type": "tpa_connection_init",
        "sessionId": SID,
        "packageName": PKG,
        "apiKey": "k",
        "timestamp": ISO,
    }


def test_session_request_uses_the_upstream_url_key_spelling() -> None:
    obj = to_dict(EXAMPLES[[m.TYPE for m in EXAMPLES].index("session_request")])
    assert {"augmentOSWebsocketUrl", "mentraOSWebsocketUrl"} <= set(obj)


def test_session_request_prefers_the_mentraos_url() -> None:
    both = SessionRequest(
        session_id=SID,
        user_id=USER,
        augment_os_websocket_url="ws://old",
        mentra_os_websocket_url="ws://new",
    )
    assert both.websocket_url == "ws://new"
    old_only = SessionRequest(session_id=SID, user_id=USER, augment_os_websocket_url="ws://old")
    assert old_only.websocket_url == "ws://old"


def test_optional_fields_left_unset_are_omitted_on_the_wire() -> None:
    assert to_dict(StartApp(package_name=PKG)) == {"type": "start_app", "packageName": PKG}


def test_explicit_null_of_an_optional_field_is_kept_on_relay() -> None:
    text = '{"type":"location_update","lat":1,"lng":2,"accuracy":null,"seq":3}'
    msg = parse_glasses(text)
    assert isinstance(msg, LocationUpdate)
    assert msg.accuracy is None
    assert to_dict(msg) == json.loads(text)


def test_relayed_glasses_event_reserialises_to_the_original_object() -> None:
    original = {
        "type": "button_press",
        "buttonId": "main",
        "pressType": "short",
        "timestamp": 1750852800123,
        "seq": 41,
        "stream": "buttons",
    }
    msg = parse_glasses(json.dumps(original))
    assert to_dict(msg) == original


def test_seq_is_readable_from_extras() -> None:
    msg = parse_glasses('{"type":"head_position","position":"down","seq":9}')
    assert msg.extras["seq"] == 9


def test_epoch_ms_timestamp_is_kept_as_an_integer() -> None:
    msg = parse_glasses('{"type":"start_app","packageName":"p","timestamp":1750852800123}')
    assert isinstance(msg, StartApp)
    assert msg.timestamp == 1750852800123
    assert '"timestamp":1750852800123' in serialise(msg)


def test_iso_timestamp_is_kept_as_the_string_sent() -> None:
    msg = parse_glasses('{"type":"start_app","packageName":"p","timestamp":"2025-06-25T12:00:00Z"}')
    assert isinstance(msg, StartApp)
    assert msg.timestamp == "2025-06-25T12:00:00Z"


def test_iso_timestamp_formats_like_javascript_to_iso_string() -> None:
    assert iso_timestamp(1750852800.1239) == "2025-06-25T12:00:00.123Z"
    assert iso_timestamp(0) == "1970-01-01T00:00:00.000Z"


def test_messages_hash_by_their_fields_not_their_extras() -> None:
    a = StartApp(package_name=PKG, extras={"seq": 1})
    b = StartApp(package_name=PKG, extras={"seq": 2})
    assert hash(a) == hash(b)
    assert a != b
    assert len({a, StartApp(package_name=PKG, extras={"seq": 1})}) == 1


def test_lists_given_to_a_constructor_become_tuples() -> None:
    msg = SubscriptionUpdate(package_name=PKG, subscriptions=["button_press"])  # type: ignore[arg-type]
    assert msg.subscriptions == ("button_press",)
    assert parse(serialise(msg)) == msg


def test_bytes_frames_are_parsed_as_utf8_text() -> None:
    msg = parse('{"type":"stop_app","packageName":"caf\u00e9"}'.encode())
    assert msg == StopApp(package_name="caf\u00e9")


def test_vad_accepts_boolean_and_string_status() -> None:
    cases: list[tuple[Any, bool]] = [(True, True), (False, False), ("true", True), ("false", False)]
    for status, active in cases:
        msg = parse_glasses(json.dumps({"type": "VAD", "status": status}))
        assert isinstance(msg, Vad)
        assert msg.active is active
        assert to_dict(msg)["status"] == status


def test_calendar_event_accepts_android_time_zone_spelling() -> None:
    msg = parse_glasses(
        '{"type":"calendar_event","eventId":"e","title":"t","dtStart":"a","dtEnd":"b",'
        '"timeZone":"UTC","timeStamp":"x"}'
    )
    assert isinstance(msg, CalendarEvent)
    assert msg.tz == "UTC"
    assert to_dict(msg)["timeZone"] == "UTC"
    assert "timezone" not in to_dict(msg)


def test_display_event_with_unknown_view_is_kept_and_reads_as_main() -> None:
    msg = parse_app(
        '{"type":"display_event","packageName":"p","view":"hud",'
        '"layout":{"layoutType":"text_wall","text":"x"}}'
    )
    assert isinstance(msg, DisplayEvent)
    assert msg.view == "hud"
    assert msg.view_kind is DisplayView.MAIN
    assert msg.layout_type == "text_wall"


def test_connection_ack_without_user_session_is_accepted() -> None:
    msg = parse_cloud_to_glasses('{"type":"connection_ack","sessionId":"a@b.c","timestamp":"x"}')
    assert msg == ConnectionAck(session_id="a@b.c", timestamp="x")


def test_user_session_with_loading_apps_object_is_flagged_not_rejected() -> None:
    # D11: upstream serialised loadingApps from a Set, which JSON.stringify turns into {}.
    msg = parse_cloud_to_glasses(
        '{"type":"connection_ack","sessionId":"u","userSession":{"userId":"u","loadingApps":{}}}'
    )
    assert isinstance(msg, ConnectionAck) and msg.user_session is not None
    assert msg.user_session.loading_apps_is_list is False
    assert USER_SESSION.loading_apps_is_list is True


def test_unknown_glasses_type_becomes_a_glasses_event_relayed_by_exact_type() -> None:
    original = {"type": "core_status_update", "status": {"battery": 3}, "seq": 2}
    msg = parse_glasses(json.dumps(original))
    assert isinstance(msg, GlassesEvent)
    assert msg.type == "core_status_update"
    assert to_dict(msg) == original
    assert parse_glasses(serialise(msg)) == msg


def test_cloud_only_type_sent_by_glasses_is_a_glasses_event() -> None:
    msg = parse_glasses('{"type":"tpa_connection_init","sessionId":"x"}')
    assert isinstance(msg, GlassesEvent)


def test_non_strict_glasses_parse_keeps_a_malformed_known_type_as_an_event() -> None:
    text = '{"type":"button_press","buttonId":"main","pressType":"double","seq":1}'
    msg = parse_glasses(text, strict=False)
    assert isinstance(msg, GlassesEvent)
    assert to_dict(msg) == json.loads(text)


def test_notification_dismissed_alias_is_its_own_type() -> None:
    msg = parse_glasses('{"type":"notification_dismissed","notificationId":"n"}')
    assert type(msg) is NotificationDismissed
    assert isinstance(msg, PhoneNotificationDismissed)
    assert msg != PhoneNotificationDismissed(notification_id="n")


@pytest.mark.parametrize(
    ("parser", "text"),
    [
        (parse_app, '{"type":"connection_init"}'),
        (parse_app, '{"type":"data_stream","sessionId":"s","streamType":"x","data":{}}'),
        (parse_cloud_to_app, '{"type":"connection_ack","sessionId":"s"}'),
        (parse_cloud_to_glasses, '{"type":"tpa_connection_ack","sessionId":"s"}'),
        (parse_webhook, '{"type":"start_app","packageName":"p"}'),
    ],
    ids=["app-init", "app-data_stream", "cloud2app-ack", "cloud2glasses-tpa", "webhook-start"],
)
def test_direction_parsers_reject_types_of_other_directions(parser: Any, text: str) -> None:
    from wsquake.protocol import UnknownType

    with pytest.raises(UnknownType) as info:
        parser(text)
    assert info.value.message_type == json.loads(text)["type"]
    assert info.value.direction is not None
    assert json.loads(text)["type"] in str(info.value)


def test_display_event_is_accepted_in_both_directions() -> None:
    text = serialise(EXAMPLES[[m.TYPE for m in EXAMPLES].index("display_event")])
    assert parse_app(text) == parse_cloud_to_glasses(text)


def test_connection_error_reaches_apps_too() -> None:
    msg = parse_cloud_to_app('{"type":"connection_error","message":"boom"}')
    assert msg == ConnectionError(message="boom")


def test_stream_data_types_relayed_events_and_transcriptions() -> None:
    relayed = parse_stream_data(
        {"type": "button_press", "buttonId": "b", "pressType": "short", "seq": 5}
    )
    assert isinstance(relayed, ButtonPress) and relayed.extras == {"seq": 5}
    other = parse_stream_data({"type": "touch_event", "gesture_name": "double_tap"})
    assert isinstance(other, GlassesEvent) and other.type == "touch_event"
    transcription = TranscriptionData(
        text="frames 0-9", is_final=True, start_time=0, end_time=1000, transcribe_language="en-US"
    )
    assert parse_stream_data(to_dict(transcription)) == transcription
    translation = TranslationData(
        text="hola",
        original_text="hello",
        is_final=True,
        start_time=0,
        end_time=1000,
        transcribe_language="en-US",
        translate_language="es-ES",
        did_translate=True,
    )
    assert parse_stream_data(to_dict(translation)) == translation


def test_data_stream_data_round_trips_a_relayed_event_with_seq() -> None:
    event = parse_glasses(
        '{"type":"phone_notification","notificationId":1,"app":"a","title":"t",'
        '"content":"c","priority":"low","seq":8}'
    )
    stream = DataStream(session_id=SID, stream_type="phone_notification", data=to_dict(event))
    frame = serialise(stream)
    received = parse_cloud_to_app(frame)
    assert isinstance(received, DataStream)
    assert parse_stream_data(received.data) == event
    assert received.data["seq"] == 8


def test_lone_surrogate_survives_a_relay_and_stays_utf8_encodable() -> None:
    text = '{"type":"phone_notification","notificationId":"n","app":"a","title":"\\ud83d",' \
        '"content":"ok \u00e9","priority":"low"}'
    msg = parse_glasses(text)
    out = serialise(msg)
    out.encode("utf-8")  # would raise UnicodeEncodeError if the surrogate were raw
    assert parse_glasses(out) == msg


def test_frames_keep_non_ascii_text_unescaped() -> None:
    assert "caf\u00e9" in serialise(StartApp(package_name="caf\u00e9"))


def test_settings_update_to_an_app_carries_the_settings_array() -> None:
    text = (
        '{"type":"settings_update","packageName":"p","sessionId":"s",'
        '"settings":[{"key":"speed","value":3}]}'
    )
    msg = parse_cloud_to_app(text)
    assert isinstance(msg, SettingsUpdate)
    assert msg.settings == ({"key": "speed", "value": 3},)
    assert msg.package_name == "p"
    assert parse_cloud_to_app(serialise(msg)) == msg
