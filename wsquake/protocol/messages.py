"""The message registry: text frame -> typed message -> text frame (spec §2-§7).

``parse`` accepts every modelled type; the ``parse_*`` variants accept only what one
peer may send in one direction, so an app sending ``connection_init`` is
:class:`UnknownType`. Glasses types the cloud does not model become
:class:`~wsquake.protocol.glasses.GlassesEvent` (relayed by exact type).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from wsquake.protocol import apps, glasses, webhooks
from wsquake.protocol._codec import Message, decode_payload, encode_payload
from wsquake.protocol.exceptions import (
    InvalidField,
    MissingField,
    MissingType,
    NotAnObject,
    NotJson,
    ParseError,
    UnknownType,
)

__all__ = [
    "MESSAGE_TYPES",
    "ParseError",
    "Direction",
    "Message",
    "from_dict",
    "iso_timestamp",
    "parse",
    "parse_app",
    "parse_cloud_to_app",
    "parse_cloud_to_glasses",
    "parse_glasses",
    "parse_stream_data",
    "parse_webhook",
    "serialise",
    "to_dict",
]


class Direction(StrEnum):
    GLASSES_TO_CLOUD = "glasses->cloud"
    CLOUD_TO_GLASSES = "cloud->glasses"
    APP_TO_CLOUD = "app->cloud"
    CLOUD_TO_APP = "cloud->app"
    WEBHOOK = "cloud->app-server webhook"


_BY_DIRECTION: dict[Direction, tuple[type[Message], ...]] = {
    Direction.GLASSES_TO_CLOUD: (
        glasses.ConnectionInit,
        glasses.StartApp,
        glasses.StopApp,
        glasses.Vad,
        glasses.HeadPosition,
        glasses.ButtonPress,
        glasses.GlassesBatteryUpdate,
        glasses.PhoneBatteryUpdate,
        glasses.LocationUpdate,
        glasses.CalendarEvent,
        glasses.PhoneNotification,
        glasses.PhoneNotificationDismissed,
        glasses.NotificationDismissed,
        glasses.GlassesConnectionState,
        glasses.RequestSettings,
    ),
    Direction.CLOUD_TO_GLASSES: (
        glasses.ConnectionAck,
        glasses.ConnectionError,
        glasses.DisplayEvent,
        glasses.AppStateChange,
        glasses.MicrophoneStateChange,
        glasses.SettingsUpdate,
    ),
    Direction.APP_TO_CLOUD: (
        apps.TpaConnectionInit,
        apps.SubscriptionUpdate,
        glasses.DisplayEvent,
        apps.DashboardContentUpdate,
        apps.DashboardModeChange,
        apps.DashboardSystemUpdate,
        apps.OwnershipRelease,
    ),
    Direction.CLOUD_TO_APP: (
        apps.TpaConnectionAck,
        apps.TpaConnectionError,
        glasses.ConnectionError,
        apps.AppPermissionError,
        apps.DataStream,
        apps.AppStopped,
        apps.DashboardModeChanged,
        apps.DashboardAlwaysOnChanged,
        apps.AugmentosSettingsUpdate,
        apps.CustomMessage,
        glasses.SettingsUpdate,
    ),
    Direction.WEBHOOK: (
        webhooks.SessionRequest,
        webhooks.StopRequest,
        webhooks.ServerRegistration,
        webhooks.ServerHeartbeat,
    ),
}

_DIRECTION_TYPES: dict[Direction, dict[str, type[Message]]] = {
    d: {cls.TYPE: cls for cls in classes} for d, classes in _BY_DIRECTION.items()
}

MESSAGE_TYPES: Mapping[str, type[Message]] = {
    cls.TYPE: cls for classes in _BY_DIRECTION.values() for cls in classes
}
"""Every modelled ``type`` string and its class."""

_STREAM_DATA_TYPES: dict[str, type[Message]] = {
    **_DIRECTION_TYPES[Direction.GLASSES_TO_CLOUD],
    apps.TranscriptionData.TYPE: apps.TranscriptionData,
    apps.TranslationData.TYPE: apps.TranslationData,
}


def _load(text: str | bytes | bytearray) -> dict[str, Any]:
    try:
        obj: Any = json.loads(text)
    except UnicodeDecodeError as exc:
        raise NotJson(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    except ValueError as exc:
        raise NotJson(str(exc)) from None
    except RecursionError:
        raise NotJson("nested too deeply") from None
    if not isinstance(obj, dict):
        raise NotAnObject(obj)
    return obj


def _type_of(obj: Mapping[str, Any]) -> str:
    if "type" not in obj:
        raise MissingType()
    value = obj["type"]
    if not isinstance(value, str) or not value:
        raise MissingType(value)
    return value


def from_dict(obj: Mapping[str, Any], direction: Direction | None = None) -> Message:
    """Build a typed message from an already decoded JSON object."""
    if not isinstance(obj, Mapping):
        raise NotAnObject(obj)
    message_type = _type_of(obj)
    table = MESSAGE_TYPES if direction is None else _DIRECTION_TYPES[direction]
    cls = table.get(message_type)
    if cls is None:
        raise UnknownType(message_type, direction.value if direction else None)
    message: Message = decode_payload(cls, obj, message_type)
    return message


def parse(text: str | bytes | bytearray, direction: Direction | None = None) -> Message:
    """Decode one text frame into a typed message (any direction unless given).

    Raises :class:`NotJson`, :class:`NotAnObject`, :class:`MissingType`,
    :class:`UnknownType`, :class:`MissingField` or :class:`InvalidField`.
    """
    return from_dict(_load(text), direction)


def parse_glasses(text: str | bytes | bytearray, *, strict: bool = True) -> Message:
    """What a glasses client may send. Unmodelled types become ``GlassesEvent``.

    With ``strict=False`` a modelled type with missing or invalid fields also becomes a
    ``GlassesEvent`` (so the cloud can still relay it); bad JSON or a missing ``type``
    always raise.
    """
    obj = _load(text)
    message_type = _type_of(obj)
    cls = _DIRECTION_TYPES[Direction.GLASSES_TO_CLOUD].get(message_type)
    if cls is not None:
        try:
            message: Message = decode_payload(cls, obj, message_type)
        except (MissingField, InvalidField):
            if strict:
                raise
        else:
            return message
    return glasses.GlassesEvent(
        event_type=message_type, extras={k: v for k, v in obj.items() if k != "type"}
    )


def parse_app(text: str | bytes | bytearray) -> Message:
    """What an app may send on ``/app-ws``; anything else is :class:`UnknownType`."""
    return parse(text, Direction.APP_TO_CLOUD)


def parse_cloud_to_glasses(text: str | bytes | bytearray) -> Message:
    return parse(text, Direction.CLOUD_TO_GLASSES)


def parse_cloud_to_app(text: str | bytes | bytearray) -> Message:
    return parse(text, Direction.CLOUD_TO_APP)


def parse_webhook(text: str | bytes | bytearray) -> Message:
    """A webhook body as an app server receives it."""
    return parse(text, Direction.WEBHOOK)


def parse_stream_data(data: Any) -> Message:
    """Type the ``data`` of a ``data_stream``: a glasses event (unmodelled types become
    ``GlassesEvent``), a ``TranscriptionData`` or a ``TranslationData``."""
    if not isinstance(data, Mapping):
        raise NotAnObject(data)
    message_type = _type_of(data)
    cls = _STREAM_DATA_TYPES.get(message_type)
    if cls is not None:
        message: Message = decode_payload(cls, data, message_type)
        return message
    return glasses.GlassesEvent(
        event_type=message_type, extras={k: v for k, v in data.items() if k != "type"}
    )


def to_dict(message: Message) -> dict[str, Any]:
    """The JSON object for ``message``: camelCase keys, ``type`` first, extras kept."""
    return encode_payload(message)


def serialise(message: Message) -> str:
    """Compact JSON text for one frame, always encodable as UTF-8.

    A lone surrogate (which JSON's ``\\udXXX`` escapes allow) stays escaped, so relaying
    such a string never fails at the socket.
    """
    obj = to_dict(message)
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True)
    return text


def iso_timestamp(epoch_s: float) -> str:
    """``2025-06-25T12:34:56.789Z`` (JavaScript ``toISOString``) for a wall-clock time.

    The caller passes the time; this module never reads a clock.
    """
    moment = datetime.fromtimestamp(epoch_s, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


