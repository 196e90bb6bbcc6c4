"""Every parse error names what was wrong: the message type, the wire field, the value."""

from __future__ import annotations

import pytest

from wsquake.protocol import (
    InvalidField,
    MissingField,
    MissingType,
    NotAnObject,
    NotJson,
    ParseError,
    ProtocolError,
    UnknownType,
    WebhookReply,
    parse,
    parse_glasses,
    parse_webhook_reply,
    serialise_webhook_reply,
)
from wsquake.protocol.webhooks import ReplyStatus


@pytest.mark.parametrize("text", ["", "{", "not json", '{"type":"VAD",}', b"\xff\xfe{}"])
def test_text_that_is_not_json_raises_not_json(text: str | bytes) -> None:
    with pytest.raises(NotJson, match="not valid JSON"):
        parse(text)


@pytest.mark.parametrize(
    ("text", "shown"), [("[]", "list"), ("3", "int"), ('"hi"', "str"), ("null", "null")]
)
def test_json_that_is_not_an_object_raises_not_an_object_naming_the_kind(
    text: str, shown: str
) -> None:
    with pytest.raises(NotAnObject, match=shown):
        parse(text)


def test_object_without_type_raises_missing_type() -> None:
    with pytest.raises(MissingType, match="no 'type'"):
        parse('{"packageName":"p"}')


@pytest.mark.parametrize("value", ["3", "null", '""', "[]"])
def test_non_string_or_empty_type_raises_missing_type(value: str) -> None:
    with pytest.raises(MissingType, match="'type'"):
        parse('{"type":' + value + "}")


def test_unknown_type_names_the_type() -> None:
    with pytest.raises(UnknownType, match="'photo_request'") as info:
        parse('{"type":"photo_request"}')
    assert info.value.message_type == "photo_request"


def test_missing_field_names_the_message_type_and_wire_key() -> None:
    with pytest.raises(MissingField) as info:
        parse('{"type":"tpa_connection_init","sessionId":"u-p","packageName":"p"}')
    assert (info.value.message_type, info.value.field) == ("tpa_connection_init", "apiKey")
    assert str(info.value) == "tpa_connection_init: missing required field 'apiKey'"


def test_missing_nested_field_is_named_with_a_dotted_path() -> None:
    with pytest.raises(MissingField) as info:
        parse('{"type":"app_state_change","sessionId":"u","userSession":{}}')
    assert info.value.field == "userSession.userId"


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ('{"type":"start_app","packageName":7}', "packageName", "a string"),
        ('{"type":"glasses_battery_update","level":true,"charging":true}', "level", "integer"),
        ('{"type":"glasses_battery_update","level":-1,"charging":true}', "level", "between"),
        ('{"type":"glasses_battery_update","level":50,"charging":"yes"}', "charging", "boolean"),
        ('{"type":"location_update","lat":91,"lng":0}', "lat", "between -90 and 90"),
        ('{"type":"head_position","position":"left"}', "position", "'up', 'down'"),
        ('{"type":"button_press","buttonId":"b","pressType":"double"}', "pressType", "'short'"),
        ('{"type":"VAD","status":1}', "status", "boolean"),
        (
            '{"type":"display_event","packageName":"p","view":"main","layout":"x"}',
            "layout",
            "an object",
        ),
        (
            '{"type":"subscription_update","packageName":"p","subscriptions":"button_press"}',
            "subscriptions",
            "an array",
        ),
        (
            '{"type":"subscription_update","packageName":"p","subscriptions":[3]}',
            "subscriptions[0]",
            "a string or an object",
        ),
        (
            '{"type":"glasses_connection_state","modelName":"m","status":"s","wifi":{"connected":1}}',
            "wifi.connected",
            "boolean",
        ),
        (
            '{"type":"permission_error","message":"m","details":[{"stream":"s","message":"m",'
            '"requiredPermission":5}]}',
            "details[0].requiredPermission",
            "a string",
        ),
        (
            '{"type":"app_state_change","sessionId":"u","userSession":{"userId":"u",'
            '"appSubscriptions":{"p":[1]}}}',
            "userSession.appSubscriptions.p[0]",
            "a string or an object",
        ),
    ],
)
def test_invalid_field_names_field_expectation_and_value(
    text: str, field: str, expected: str
) -> None:
    with pytest.raises(InvalidField) as info:
        parse(text)
    assert info.value.field == field
    assert expected in info.value.expected
    assert f"field {field!r}" in str(info.value)
    assert str(info.value.message_type) in str(info.value)


def test_non_finite_number_is_rejected() -> None:
    with pytest.raises(InvalidField, match="finite"):
        parse('{"type":"location_update","lat":NaN,"lng":0}')


def test_strict_glasses_parse_reports_invalid_fields_of_known_types() -> None:
    with pytest.raises(InvalidField, match="pressType"):
        parse_glasses('{"type":"button_press","buttonId":"b","pressType":"double"}')


def test_non_strict_glasses_parse_still_rejects_bad_json_and_missing_type() -> None:
    with pytest.raises(NotJson):
        parse_glasses("{", strict=False)
    with pytest.raises(MissingType):
        parse_glasses('{"x":1}', strict=False)


def test_every_parse_error_is_a_protocol_error() -> None:
    for cls in (NotJson, NotAnObject, MissingType, UnknownType, MissingField, InvalidField):
        assert issubclass(cls, ParseError)
        assert issubclass(cls, ProtocolError)


def test_long_values_are_clipped_in_error_messages() -> None:
    with pytest.raises(InvalidField) as info:
        parse('{"type":"start_app","packageName":' + str(10**200) + "}")
    assert len(str(info.value)) < 200


def test_webhook_reply_round_trips_and_reports_bad_status() -> None:
    reply = WebhookReply(status=ReplyStatus.ERROR, message="Failed to connect")
    text = serialise_webhook_reply(reply)
    assert text == '{"status":"error","message":"Failed to connect"}'
    assert parse_webhook_reply(text) == reply
    assert parse_webhook_reply('{"status":"success"}').ok
    with pytest.raises(InvalidField) as info:
        parse_webhook_reply('{"status":"maybe"}')
    assert (info.value.message_type, info.value.field) == ("webhook_reply", "status")
    with pytest.raises(MissingField, match="status"):
        parse_webhook_reply("{}")
    with pytest.raises(NotJson):
        parse_webhook_reply("<html>")
    with pytest.raises(NotAnObject):
        parse_webhook_reply("[]")


def test_deeply_nested_json_is_not_json_rather_than_a_crash() -> None:
    with pytest.raises(NotJson, match="nested too deeply"):
        parse('{"type":"x","a":' + "[" * 200_000 + "]" * 200_000 + "}")
