"""Subscription parsing (§6.3), matching of relayed events, permissions (§6.4)."""

from __future__ import annotations

from typing import Any

import pytest

from wsquake.protocol import (
    InvalidStream,
    Permission,
    StreamType,
    Subscription,
    UnknownPermission,
    delivery_stream_type,
    is_permitted,
    matches_audio,
    matches_transcription,
    matches_translation,
    parse_subscription,
    required_permission,
    subscription_matches,
    transcription_languages,
)

# Translation and settings only exist with a suffix ("translation:<src>-to-<tgt>").
BASE_TYPES = [
    t.value for t in StreamType if t not in (StreamType.AUGMENTOS, StreamType.TRANSLATION)
]


@pytest.mark.parametrize("entry", BASE_TYPES)
def test_every_base_type_parses_to_itself(entry: str) -> None:
    sub = parse_subscription(entry)
    assert sub.raw == entry
    assert sub.base == StreamType(entry)


def test_bare_transcription_is_normalised_to_en_us_for_matching() -> None:
    sub = parse_subscription("transcription")
    assert sub.raw == "transcription"
    assert sub.language == "en-US"
    assert sub.normalised == "transcription:en-US"
    assert matches_transcription(sub, "en-US")
    assert not matches_transcription(sub, "de-DE")


@pytest.mark.parametrize(
    ("entry", "language", "query"),
    [
        ("transcription:en-US", "en-US", None),
        ("transcription:fil-PH", "fil-PH", None),
        (
            "transcription:en-US?no-language-identification=true",
            "en-US",
            "no-language-identification=true",
        ),
        ("transcription:ja-JP?hints=en", "ja-JP", "hints=en"),
    ],
)
def test_transcription_language_and_query_are_parsed(
    entry: str, language: str, query: str | None
) -> None:
    sub = parse_subscription(entry)
    assert (sub.base, sub.language, sub.query) == (StreamType.TRANSCRIPTION, language, query)
    assert matches_transcription(sub, language)
    assert sub.normalised == f"transcription:{language}"


@pytest.mark.parametrize(
    ("entry", "source", "target"),
    [
        ("translation:es-ES-to-en-US", "es-ES", "en-US"),
        ("translation:all-to-en-US", "all", "en-US"),
        ("translation:zh-CN-to-fr-FR?x=1", "zh-CN", "fr-FR"),
    ],
)
def test_translation_source_and_target_are_parsed(entry: str, source: str, target: str) -> None:
    sub = parse_subscription(entry)
    assert (sub.base, sub.source_language, sub.target_language) == (
        StreamType.TRANSLATION,
        source,
        target,
    )


def test_translation_from_all_matches_any_source_language() -> None:
    sub = parse_subscription("translation:all-to-en-US")
    assert matches_translation(sub, "es-ES", "en-US")
    assert matches_translation(sub, "de-DE", "en-US")
    assert not matches_translation(sub, "es-ES", "fr-FR")


def test_translation_from_one_language_matches_only_that_source() -> None:
    sub = parse_subscription("translation:es-ES-to-en-US")
    assert matches_translation(sub, "es-ES", "en-US")
    assert not matches_translation(sub, "de-DE", "en-US")


@pytest.mark.parametrize("gesture", ["single_tap", "double_tap", "long_press", "down_swipe"])
def test_gesture_subscriptions_parse(gesture: str) -> None:
    sub = parse_subscription(f"touch_event:{gesture}")
    assert (sub.base, sub.gesture) == (StreamType.TOUCH_EVENT, gesture)


@pytest.mark.parametrize(
    ("entry", "key"),
    [("augmentos:brightness", "brightness"), ("augmentos:*", "*"), ("augmentos:all", "all")],
)
def test_settings_subscriptions_parse(entry: str, key: str) -> None:
    sub = parse_subscription(entry)
    assert (sub.base, sub.settings_key) == (StreamType.AUGMENTOS, key)


def test_location_object_form_parses_with_its_rate() -> None:
    sub = parse_subscription({"stream": "location_stream", "rate": "high"})
    assert sub.base is StreamType.LOCATION_STREAM
    assert sub.rate == "high"
    assert sub.object_form
    assert sub.to_wire() == {"stream": "location_stream", "rate": "high"}
    assert sub.normalised == "location_stream"


def test_location_object_forms_with_equal_content_are_equal_and_hashable() -> None:
    a = parse_subscription({"stream": "location_stream", "rate": "high"})
    b = parse_subscription({"rate": "high", "stream": "location_stream"})
    assert a == b
    assert len({a, b, parse_subscription("location_stream")}) == 2


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("", "is empty"),
        ("buttons", "unknown stream type"),
        ("Button_press", "unknown stream type"),
        ("transcription:english", "not like 'en-US'"),
        ("transcription:en-us", "not like 'en-US'"),
        ("transcription:", "not like 'en-US'"),
        ("transcription:en-US?", "empty query"),
        ("translation", "needs"),
        ("translation:es-ES", "needs '<source>-to-<target>'"),
        ("translation:es-ES-to-all", "target language"),
        ("translation:spanish-to-en-US", "source language"),
        ("touch_event:quadruple_tap", "unknown gesture"),
        ("augmentos", "settings form"),
        ("augmentos:", "settings form"),
        ("button_press:long", "takes no ':' suffix"),
        (42, "must be a string"),
        (None, "must be a string"),
        ({"stream": "button_press"}, "location_stream"),
        ({"rate": "high"}, "location_stream"),
        ({"stream": "location_stream", "rate": 5}, "'rate'"),
        ({"stream": "location_stream", "rate": ""}, "'rate'"),
    ],
)
def test_invalid_entries_raise_invalid_stream_naming_the_entry(entry: Any, reason: str) -> None:
    with pytest.raises(InvalidStream, match=reason) as info:
        parse_subscription(entry)
    assert repr(entry) in str(info.value) or isinstance(entry, dict)
    assert info.value.entry == entry


# --- matching relayed glasses events --------------------------------------------------------

RELAYED = [
    "button_press",
    "head_position",
    "phone_notification",
    "calendar_event",
    "core_status_update",
    "VAD",
]


@pytest.mark.parametrize("wildcard", ["*", "all"])
@pytest.mark.parametrize("event_type", RELAYED)
def test_wildcards_match_relayed_glasses_events(wildcard: str, event_type: str) -> None:
    assert subscription_matches(parse_subscription(wildcard), event_type)


@pytest.mark.parametrize("wildcard", ["*", "all"])
@pytest.mark.parametrize(
    "event_type", ["audio_chunk", "transcription", "translation", "transcription:en-US"]
)
def test_wildcards_do_not_match_audio_or_transcription(wildcard: str, event_type: str) -> None:
    sub = parse_subscription(wildcard)
    assert not subscription_matches(sub, event_type)
    assert not matches_audio(sub)
    assert not matches_transcription(sub, "en-US")


@pytest.mark.parametrize("subscribed", ["phone_notification_dismissed", "notification_dismissed"])
@pytest.mark.parametrize("sent", ["phone_notification_dismissed", "notification_dismissed"])
def test_dismissed_notification_subscribers_get_both_spellings(subscribed: str, sent: str) -> None:
    assert subscription_matches(parse_subscription(subscribed), sent)


def test_exact_subscription_matches_only_its_type() -> None:
    sub = parse_subscription("button_press")
    assert subscription_matches(sub, "button_press")
    assert not subscription_matches(sub, "head_position")
    notifications = parse_subscription("phone_notification")
    assert not subscription_matches(notifications, "notification_dismissed")


def test_gesture_subscription_needs_the_same_gesture() -> None:
    sub = parse_subscription("touch_event:double_tap")
    assert subscription_matches(sub, "touch_event", gesture="double_tap")
    assert not subscription_matches(sub, "touch_event", gesture="single_tap")
    assert not subscription_matches(sub, "touch_event")
    assert subscription_matches(parse_subscription("touch_event"), "touch_event", gesture="x")


def test_location_stream_subscribers_receive_location_updates() -> None:
    for entry in ("location_stream", {"stream": "location_stream", "rate": "realtime"}):
        sub = parse_subscription(entry)
        assert subscription_matches(sub, "location_update")
        assert delivery_stream_type(sub, "location_update") == "location_update"


def test_transcription_and_settings_subscriptions_match_no_relayed_event() -> None:
    for entry in ("transcription:en-US", "translation:all-to-en-US", "augmentos:*"):
        assert not subscription_matches(parse_subscription(entry), "button_press")


def test_only_audio_chunk_subscribers_get_audio() -> None:
    assert matches_audio(parse_subscription("audio_chunk"))
    assert not matches_audio(parse_subscription("VAD"))


@pytest.mark.parametrize(
    ("entry", "event_type", "stream_type"),
    [
        ("transcription:en-US?hints=ja", "transcription", "transcription:en-US?hints=ja"),
        ("button_press", "button_press", "button_press"),
        ("*", "head_position", "head_position"),
        ("all", "calendar_event", "calendar_event"),
        ("notification_dismissed", "phone_notification_dismissed", "notification_dismissed"),
    ],
)
def test_delivery_stream_type_is_the_app_own_subscription_string(
    entry: str, event_type: str, stream_type: str
) -> None:
    assert delivery_stream_type(parse_subscription(entry), event_type) == stream_type


def test_transcription_languages_collects_transcription_and_translation_sources() -> None:
    subs = [
        parse_subscription(e)
        for e in ("transcription", "transcription:de-DE?x=1", "translation:es-ES-to-en-US",
                  "translation:all-to-fr-FR", "button_press")
    ]
    assert transcription_languages(subs) == {"en-US", "de-DE", "es-ES"}


# --- permissions ------------------------------------------------------------------------------

PERMISSION_TABLE: list[tuple[str | dict[str, str], Permission | None]] = [
    ("audio_chunk", Permission.MICROPHONE),
    ("transcription:en-US", Permission.MICROPHONE),
    ("transcription", Permission.MICROPHONE),
    ("translation:all-to-en-US", Permission.MICROPHONE),
    ("VAD", Permission.MICROPHONE),
    ("location_update", Permission.LOCATION),
    ("location_stream", Permission.LOCATION),
    ({"stream": "location_stream", "rate": "high"}, Permission.LOCATION),
    ("calendar_event", Permission.CALENDAR),
    ("phone_notification", Permission.READ_NOTIFICATIONS),
    ("phone_notification_dismissed", Permission.READ_NOTIFICATIONS),
    ("notification_dismissed", Permission.READ_NOTIFICATIONS),
    ("button_press", None),
    ("head_position", None),
    ("touch_event:double_tap", None),
    ("glasses_battery_update", None),
    ("*", None),
    ("all", None),
    ("augmentos:brightness", None),
]


@pytest.mark.parametrize(("entry", "permission"), PERMISSION_TABLE, ids=lambda v: str(v))
def test_required_permission_table(entry: Any, permission: Permission | None) -> None:
    assert required_permission(parse_subscription(entry)) is permission


@pytest.mark.parametrize(("entry", "permission"), PERMISSION_TABLE, ids=lambda v: str(v))
def test_permitted_only_with_the_required_permission_or_all(
    entry: Any, permission: Permission | None
) -> None:
    sub = parse_subscription(entry)
    assert is_permitted(sub, [Permission.ALL])
    assert is_permitted(sub, ["ALL"])
    assert is_permitted(sub, []) is (permission is None)
    if permission is not None:
        assert is_permitted(sub, [permission])
        assert is_permitted(sub, [permission.value])
        others = [p for p in Permission if p not in (permission, Permission.ALL)]
        assert not is_permitted(sub, others)


def test_unknown_permission_name_is_rejected_by_name() -> None:
    with pytest.raises(UnknownPermission, match="'CAMERA'"):
        is_permitted(parse_subscription("button_press"), ["CAMERA"])


def test_subscription_is_frozen() -> None:
    sub: Subscription = parse_subscription("button_press")
    with pytest.raises(AttributeError):
        sub.raw = "x"  # type: ignore[misc]
