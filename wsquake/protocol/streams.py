"""Stream subscriptions (spec §6.2-§6.4): parsing, matching relayed events, permissions.

A subscription entry arrives in ``subscription_update.subscriptions`` as a string
(``"button_press"``, ``"transcription:en-US?hints=ja"``, ``"touch_event:double_tap"``,
``"augmentos:brightness"``) or as the object form ``{"stream": "location_stream",
"rate": "high"}``. :func:`parse_subscription` turns one entry into a frozen, hashable
:class:`Subscription` or raises :class:`InvalidStream` naming the entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from wsquake.protocol.exceptions import InvalidStream, UnknownPermission

__all__ = [
    "DEFAULT_TRANSCRIPTION_LANGUAGE",
    "GESTURES",
    "Permission",
    "StreamType",
    "Subscription",
    "delivery_stream_type",
    "is_permitted",
    "matches_audio",
    "matches_transcription",
    "matches_translation",
    "parse_permission",
    "parse_subscription",
    "required_permission",
    "subscription_matches",
    "transcription_languages",
]


class StreamType(StrEnum):
    """Base stream types (SDK 2.1.29 ``StreamType``), wildcards and the mid-2025 alias."""

    BUTTON_PRESS = "button_press"
    HEAD_POSITION = "head_position"
    TOUCH_EVENT = "touch_event"
    GLASSES_BATTERY_UPDATE = "glasses_battery_update"
    PHONE_BATTERY_UPDATE = "phone_battery_update"
    GLASSES_CONNECTION_STATE = "glasses_connection_state"
    LOCATION_UPDATE = "location_update"
    LOCATION_STREAM = "location_stream"
    VPS_COORDINATES = "vps_coordinates"
    TRANSCRIPTION = "transcription"
    TRANSLATION = "translation"
    VAD = "VAD"
    AUDIO_CHUNK = "audio_chunk"
    PHONE_NOTIFICATION = "phone_notification"
    PHONE_NOTIFICATION_DISMISSED = "phone_notification_dismissed"
    CALENDAR_EVENT = "calendar_event"
    START_APP = "start_app"
    STOP_APP = "stop_app"
    OPEN_DASHBOARD = "open_dashboard"
    CORE_STATUS_UPDATE = "core_status_update"
    VIDEO = "video"
    PHOTO_REQUEST = "photo_request"
    PHOTO_RESPONSE = "photo_response"
    RTMP_STREAM_STATUS = "rtmp_stream_status"
    MANAGED_STREAM_STATUS = "managed_stream_status"
    SETTINGS_UPDATE_REQUEST = "settings_update_request"
    CUSTOM_MESSAGE = "custom_message"
    PHOTO_TAKEN = "photo_taken"
    ALL = "all"
    WILDCARD = "*"
    NOTIFICATION_DISMISSED = "notification_dismissed"
    AUGMENTOS = "augmentos"
    """Base of the ``augmentos:<key>`` settings form (project name for that form)."""


DEFAULT_TRANSCRIPTION_LANGUAGE = "en-US"
GESTURES: frozenset[str] = frozenset(
    {
        "single_tap",
        "double_tap",
        "triple_tap",
        "long_press",
        "forward_swipe",
        "backward_swipe",
        "up_swipe",
        "down_swipe",
    }
)

_LANGUAGE = re.compile(r"[a-z]{2,3}-[A-Z]{2}")
_SETTINGS_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*|\*|all")
_WILDCARDS = frozenset({StreamType.ALL, StreamType.WILDCARD})
_DISMISSED = frozenset({StreamType.PHONE_NOTIFICATION_DISMISSED, StreamType.NOTIFICATION_DISMISSED})
# Bases that only exist with a suffix, or that have their own delivery path.
_PLAIN_BASES = {t.value: t for t in StreamType if t is not StreamType.AUGMENTOS}
_NOT_WILDCARD_EVENTS = frozenset({"audio_chunk", "transcription", "translation"})


@dataclass(frozen=True, slots=True)
class Subscription:
    """One parsed subscription entry. Hashable, so sets of them are cheap to compare.

    ``raw`` is the entry as sent: the string itself, or for the object form its compact
    JSON with sorted keys. ``language`` is set for transcription (``"en-US"`` for a bare
    ``transcription``); ``source_language``/``target_language`` for translation (source
    may be ``"all"``); ``query`` is the text after ``?``; ``gesture`` for
    ``touch_event:<gesture>``; ``rate`` for the location object form; ``settings_key``
    for ``augmentos:<key>``.
    """

    raw: str
    base: StreamType
    language: str | None = None
    source_language: str | None = None
    target_language: str | None = None
    query: str | None = None
    gesture: str | None = None
    rate: str | None = None
    settings_key: str | None = None
    object_form: bool = False

    @property
    def is_wildcard(self) -> bool:
        return self.base in _WILDCARDS

    @property
    def normalised(self) -> str:
        """The matching key: ``transcription`` becomes ``transcription:en-US``; a query is
        dropped; the object form becomes ``location_stream``."""
        if self.base is StreamType.TRANSCRIPTION:
            return f"transcription:{self.language}"
        if self.base is StreamType.TRANSLATION:
            return f"translation:{self.source_language}-to-{self.target_language}"
        if self.object_form:
            return str(self.base)
        return self.raw

    def to_wire(self) -> str | dict[str, Any]:
        """The entry as it was sent (object form back as a dict)."""
        if self.object_form:
            value: dict[str, Any] = json.loads(self.raw)
            return value
        return self.raw


def parse_subscription(entry: str | Mapping[str, Any]) -> Subscription:
    """Parse one ``subscriptions`` entry (§6.3); raise :class:`InvalidStream` naming it."""
    if isinstance(entry, Mapping):
        return _parse_object(entry)
    if not isinstance(entry, str):
        raise InvalidStream(entry, "must be a string or a {stream, rate} object")
    if not entry:
        raise InvalidStream(entry, "is empty")
    base_text, sep, rest = entry.partition(":")
    if base_text == "transcription":
        return _parse_transcription(entry, rest if sep else None)
    if base_text == "translation":
        if not sep:
            raise InvalidStream(entry, "translation needs '<source>-to-<target>' languages")
        return _parse_translation(entry, rest)
    if base_text == "touch_event" and sep:
        if rest not in GESTURES:
            raise InvalidStream(entry, f"unknown gesture {rest!r}")
        return Subscription(raw=entry, base=StreamType.TOUCH_EVENT, gesture=rest)
    if base_text == "augmentos":
        if not sep or not _SETTINGS_KEY.fullmatch(rest):
            raise InvalidStream(entry, "settings form must be 'augmentos:<key>', '*' or 'all'")
        return Subscription(raw=entry, base=StreamType.AUGMENTOS, settings_key=rest)
    if sep:
        raise InvalidStream(entry, f"stream {base_text!r} takes no ':' suffix")
    base = _PLAIN_BASES.get(entry)
    if base is None:
        raise InvalidStream(entry, "unknown stream type")
    return Subscription(raw=entry, base=base)


def _parse_object(entry: Mapping[str, Any]) -> Subscription:
    stream = entry.get("stream")
    if stream != StreamType.LOCATION_STREAM.value:
        raise InvalidStream(dict(entry), "object form must have stream 'location_stream'")
    rate = entry.get("rate")
    if rate is not None and (not isinstance(rate, str) or not rate):
        raise InvalidStream(dict(entry), "'rate' must be a non-empty string")
    try:
        raw = json.dumps(dict(entry), separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidStream(dict(entry), "object form is not JSON-serialisable") from exc
    return Subscription(raw=raw, base=StreamType.LOCATION_STREAM, rate=rate, object_form=True)


def _split_query(entry: str, text: str) -> tuple[str, str | None]:
    head, sep, query = text.partition("?")
    if sep and not query:
        raise InvalidStream(entry, "empty query after '?'")
    return head, query if sep else None


def _parse_transcription(entry: str, rest: str | None) -> Subscription:
    if rest is None:
        return Subscription(
            raw=entry, base=StreamType.TRANSCRIPTION, language=DEFAULT_TRANSCRIPTION_LANGUAGE
        )
    language, query = _split_query(entry, rest)
    if not _LANGUAGE.fullmatch(language):
        raise InvalidStream(entry, f"language {language!r} is not like 'en-US'")
    return Subscription(raw=entry, base=StreamType.TRANSCRIPTION, language=language, query=query)


def _parse_translation(entry: str, rest: str) -> Subscription:
    pair, query = _split_query(entry, rest)
    source, sep, target = pair.partition("-to-")
    if not sep:
        raise InvalidStream(entry, "translation needs '<source>-to-<target>'")
    if source != "all" and not _LANGUAGE.fullmatch(source):
        raise InvalidStream(entry, f"source language {source!r} is not like 'es-ES' or 'all'")
    if not _LANGUAGE.fullmatch(target):
        raise InvalidStream(entry, f"target language {target!r} is not like 'en-US'")
    return Subscription(
        raw=entry,
        base=StreamType.TRANSLATION,
        source_language=source,
        target_language=target,
        query=query,
    )


# --- matching -----------------------------------------------------------------------------


def subscription_matches(sub: Subscription, event_type: str, *, gesture: str | None = None) -> bool:
    """Does ``sub`` receive a relayed glasses JSON event of ``event_type`` (§4, §6.3)?

    Wildcards match relayed glasses events only (never audio, transcription or
    translation). ``phone_notification_dismissed`` and ``notification_dismissed``
    subscribers get both spellings. A gesture subscription needs the event's ``gesture``.
    A ``location_stream`` subscription (either form) also receives ``location_update``.
    Transcription and translation go through :func:`matches_transcription` /
    :func:`matches_translation`, audio through :func:`matches_audio`.
    """
    event_base = event_type.partition(":")[0]
    if sub.is_wildcard:
        return event_base not in _NOT_WILDCARD_EVENTS
    if sub.base in _DISMISSED:
        return event_type in {t.value for t in _DISMISSED}
    if sub.base in (StreamType.TRANSCRIPTION, StreamType.TRANSLATION, StreamType.AUGMENTOS):
        return False
    if sub.base is StreamType.LOCATION_STREAM:
        return event_type in (StreamType.LOCATION_STREAM.value, StreamType.LOCATION_UPDATE.value)
    if sub.base.value != event_type:
        return False
    if sub.gesture is not None:
        return gesture == sub.gesture
    return True


def matches_transcription(sub: Subscription, language: str) -> bool:
    """Does ``sub`` want final transcriptions in ``language`` (query ignored)?"""
    return sub.base is StreamType.TRANSCRIPTION and sub.language == language


def matches_translation(sub: Subscription, source: str, target: str) -> bool:
    """Does ``sub`` want translations from ``source`` into ``target``?"""
    return (
        sub.base is StreamType.TRANSLATION
        and sub.target_language == target
        and sub.source_language in ("all", source)
    )


def matches_audio(sub: Subscription) -> bool:
    """Only an explicit ``audio_chunk`` subscription gets binary audio."""
    return sub.base is StreamType.AUDIO_CHUNK


def delivery_stream_type(sub: Subscription, event_type: str) -> str:
    """``data_stream.streamType`` for a delivery through ``sub`` (§6.6).

    The app's own subscription string, except: a wildcard (and the object form) delivers
    under the event's type, and a dismissed-notification subscriber gets its own
    spelling whichever the glasses sent. The SDK dispatches on an exact key match.
    """
    if sub.is_wildcard or sub.object_form:
        return event_type
    if sub.base is StreamType.LOCATION_STREAM:
        return event_type
    return sub.raw


def transcription_languages(subs: Iterable[Subscription]) -> frozenset[str]:
    """The transcription languages a set of subscriptions needs (translation sources
    other than ``all`` count too); feeds ``minimumTranscriptionLanguages``."""
    languages: set[str] = set()
    for sub in subs:
        if sub.base is StreamType.TRANSCRIPTION and sub.language:
            languages.add(sub.language)
        elif sub.base is StreamType.TRANSLATION and sub.source_language not in (None, "all"):
            assert sub.source_language is not None
            languages.add(sub.source_language)
    return frozenset(languages)


# --- permissions (§6.4) --------------------------------------------------------------------


class Permission(StrEnum):
    MICROPHONE = "MICROPHONE"
    LOCATION = "LOCATION"
    CALENDAR = "CALENDAR"
    READ_NOTIFICATIONS = "READ_NOTIFICATIONS"
    ALL = "ALL"


_REQUIRED: dict[StreamType, Permission] = {
    StreamType.AUDIO_CHUNK: Permission.MICROPHONE,
    StreamType.TRANSCRIPTION: Permission.MICROPHONE,
    StreamType.TRANSLATION: Permission.MICROPHONE,
    StreamType.VAD: Permission.MICROPHONE,
    StreamType.LOCATION_UPDATE: Permission.LOCATION,
    StreamType.LOCATION_STREAM: Permission.LOCATION,
    StreamType.CALENDAR_EVENT: Permission.CALENDAR,
    StreamType.PHONE_NOTIFICATION: Permission.READ_NOTIFICATIONS,
    StreamType.PHONE_NOTIFICATION_DISMISSED: Permission.READ_NOTIFICATIONS,
    StreamType.NOTIFICATION_DISMISSED: Permission.READ_NOTIFICATIONS,
}


def required_permission(sub: Subscription) -> Permission | None:
    """The permission a stream needs, or ``None`` when it needs nothing."""
    return _REQUIRED.get(sub.base)


def parse_permission(value: Permission | str) -> Permission:
    """``Permission`` from an enum member or its upstream name; raises UnknownPermission."""
    if isinstance(value, Permission):
        return value
    if isinstance(value, str):
        try:
            return Permission(value)
        except ValueError:
            pass
    raise UnknownPermission(value)


def is_permitted(sub: Subscription, granted: Iterable[Permission | str]) -> bool:
    """True when ``granted`` covers the stream (``ALL`` covers everything)."""
    needed = required_permission(sub)
    permissions = {parse_permission(p) for p in granted}
    if needed is None:
        return True
    return Permission.ALL in permissions or needed in permissions
