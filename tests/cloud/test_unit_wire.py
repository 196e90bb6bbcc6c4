"""The cloud's JSON edge: fast-path envelopes equal the protocol core's serialisation,
and every outgoing message parses back with the core's parser."""

from __future__ import annotations

import json

from wsquake.cloud import wire
from wsquake.protocol import parse_cloud_to_app, parse_cloud_to_glasses, serialise
from wsquake.protocol.apps import DataStream, PermissionErrorDetail
from wsquake.protocol.glasses import UserSessionInfo


def test_data_stream_fast_path_equals_the_typed_serialisation() -> None:
    data = {"type": "button_press", "buttonId": "main", "pressType": "short", "seq": 7}
    fast = json.loads(wire.data_stream("a-b@c.d-com.x-y", "button_press", data))
    typed = json.loads(
        serialise(
            DataStream(
                session_id="a-b@c.d-com.x-y",
                stream_type="button_press",
                data=data,
                timestamp=fast["timestamp"],
            )
        )
    )
    assert fast == typed


def test_app_bound_messages_parse_back() -> None:
    details = [PermissionErrorDetail(stream="audio_chunk", required_permission="MICROPHONE",
                                     message="m")]
    for text in (
        wire.tpa_connection_ack("u@x.y-p"),
        wire.tpa_connection_error("APP_NOT_STARTED", "no"),
        wire.app_stopped("user_disabled"),
        wire.permission_error(details),
        wire.data_stream("u@x.y-p", "head_position", {"type": "head_position"}),
    ):
        message = parse_cloud_to_app(text)
        assert message.TYPE == json.loads(text)["type"]


def test_tpa_ack_carries_both_settings_fields() -> None:
    ack = json.loads(wire.tpa_connection_ack("u@x.y-p"))
    assert ack["augmentosSettings"] == ack["mentraosSettings"] != {}
    assert ack["settings"] == []


def test_glasses_bound_messages_parse_back_with_loading_apps_a_list() -> None:
    info = UserSessionInfo(user_id="u@x.y", loading_apps=("p",))
    for text in (
        wire.connection_ack("u@x.y", info),
        wire.app_state_change("u@x.y", info),
        wire.connection_error("MALFORMED_MESSAGE", "bad"),
        wire.settings_update("u@x.y"),
    ):
        message = parse_cloud_to_glasses(text)
        assert message.TYPE == json.loads(text)["type"]
    assert json.loads(wire.connection_ack("u@x.y", info))["userSession"]["loadingApps"] == ["p"]


def test_webhook_bodies_carry_both_websocket_urls() -> None:
    body = wire.session_request("u@x.y-p", "u@x.y", "ws://h:1/app-ws")
    assert body["type"] == "session_request"
    assert body["augmentOSWebsocketUrl"] == body["mentraOSWebsocketUrl"] == "ws://h:1/app-ws"
    stop = wire.stop_request("u@x.y-p", "u@x.y", "system_stop")
    assert (stop["type"], stop["reason"]) == ("stop_request", "system_stop")
