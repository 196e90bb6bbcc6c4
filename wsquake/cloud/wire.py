"""The cloud's JSON edge: decode incoming frames (validated by ``wsquake.protocol``) and
build outgoing messages.

Incoming frames are validated with the protocol core's parsers, which raise a specific
``ParseError`` naming the bad field; the cloud then keeps the original JSON object,
because relays must forward "the original glasses message" unchanged (§6.6).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from wsquake import protocol
from wsquake.protocol.exceptions import InvalidField, ParseError, UnknownType

__all__ = [
    "Decoded",
    "ParseError",
    "UnknownType",
    "decode_app",
    "decode_glasses",
    "dumps",
    "iso_now",
]


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_from_epoch(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Decoded:
    """A validated frame: its ``type``, the typed message and the original JSON object."""

    __slots__ = ("data", "message", "type")

    def __init__(self, type_: str, message: Any, data: dict[str, Any]) -> None:
        self.type = type_
        self.message = message
        self.data = data


def _loads(text: str) -> dict[str, Any]:
    data = json.loads(text)
    assert isinstance(data, dict)
    return data


def decode_glasses(text: str) -> Decoded:
    """Validate a glasses frame; raises ParseError (unknown types become GlassesEvent)."""
    message = protocol.parse_glasses(text)
    data = _loads(text)
    return Decoded(str(data["type"]), message, data)


def decode_app(text: str) -> Decoded:
    """Validate an app frame; raises ParseError (UnknownType for types apps may not send)."""
    message = protocol.parse_app(text)
    data = _loads(text)
    return Decoded(str(data["type"]), message, data)


def field_error(message_type: str, field: str, expected: str, got: Any) -> InvalidField:
    return InvalidField(message_type, field, expected, got)


# --- outgoing ------------------------------------------------------------------------------


def connection_error(code: str, message: str) -> str:
    return dumps(
        {"type": "connection_error", "code": code, "message": message, "timestamp": iso_now()}
    )


def tpa_connection_error(code: str, message: str) -> str:
    return dumps(
        {"type": "tpa_connection_error", "code": code, "message": message, "timestamp": iso_now()}
    )


DEFAULT_GLASSES_SETTINGS: dict[str, Any] = {
    "useOnboardMic": False,
    "contextualDashboard": True,
    "metricSystemEnabled": False,
    "headUpAngle": 20,
    "brightness": 50,
    "autoBrightness": False,
    "sensingEnabled": True,
    "alwaysOnStatusBar": False,
    "bypassVad": False,
    "bypassAudioEncoding": False,
}


def tpa_connection_ack(session_id: str) -> str:
    settings = dict(DEFAULT_GLASSES_SETTINGS)
    return dumps(
        {
            "type": "tpa_connection_ack",
            "sessionId": session_id,
            "settings": [],
            "augmentosSettings": settings,
            "mentraosSettings": settings,
            "timestamp": iso_now(),
        }
    )


def settings_update(user_id: str) -> str:
    return dumps(
        {
            "type": "settings_update",
            "sessionId": user_id,
            "settings": dict(DEFAULT_GLASSES_SETTINGS),
            "timestamp": iso_now(),
        }
    )


def data_stream(session_id: str, stream_type: str, data: Any) -> str:
    return dumps(
        {
            "type": "data_stream",
            "sessionId": session_id,
            "streamType": stream_type,
            "data": data,
            "timestamp": iso_now(),
        }
    )


def app_stopped(reason: str) -> str:
    return dumps({"type": "app_stopped", "reason": reason, "timestamp": iso_now()})


def permission_error(details: list[dict[str, Any]]) -> str:
    return dumps(
        {
            "type": "permission_error",
            "message": "Some subscriptions were rejected for missing permissions",
            "details": details,
            "timestamp": iso_now(),
        }
    )
