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
from wsquake.protocol import serialise, to_dict
from wsquake.protocol.apps import (
    AppPermissionError,
    AppStopped,
    DashboardModeChanged,
    PermissionErrorDetail,
    TpaConnectionAck,
    TpaConnectionError,
)
from wsquake.protocol.exceptions import InvalidField, ParseError, UnknownType
from wsquake.protocol.glasses import (
    AppStateChange,
    ConnectionAck,
    ConnectionError,
    MicrophoneStateChange,
    SettingsUpdate,
    UserSessionInfo,
)
from wsquake.protocol.webhooks import (
    ServerHeartbeat,
    ServerRegistration,
    SessionRequest,
    StopRequest,
)

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


# --- outgoing: typed messages from wsquake.protocol, serialised here --------------------


def connection_error(code: str, message: str) -> str:
    return serialise(ConnectionError(code=code, message=message, timestamp=iso_now()))


def tpa_connection_error(code: str, message: str) -> str:
    return serialise(TpaConnectionError(code=code, message=message, timestamp=iso_now()))


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
    return serialise(
        TpaConnectionAck(
            session_id=session_id,
            settings=(),
            augmentos_settings=settings,
            mentraos_settings=settings,
            timestamp=iso_now(),
        )
    )


def settings_update(user_id: str) -> str:
    return serialise(
        SettingsUpdate(
            session_id=user_id, settings=dict(DEFAULT_GLASSES_SETTINGS), timestamp=iso_now()
        )
    )


def data_stream(session_id: str, stream_type: str, data: Any) -> str:
    """The relay hot path builds the envelope directly (about twice as fast as the generic
    codec); ``test_unit_wire`` checks it equals ``serialise(DataStream(...))``."""
    return dumps(
        {
            "type": "data_stream",
            "sessionId": session_id,
            "streamType": stream_type,
            "data": data,
            "timestamp": iso_now(),
        }
    )


def dashboard_mode_changed(mode: str) -> str:
    return serialise(DashboardModeChanged(mode=mode, timestamp=iso_now()))


def app_stopped(reason: str) -> str:
    return serialise(AppStopped(reason=reason, timestamp=iso_now()))


def permission_error(details: list[PermissionErrorDetail]) -> str:
    return serialise(
        AppPermissionError(
            message="Some subscriptions were rejected for missing permissions",
            details=tuple(details),
            timestamp=iso_now(),
        )
    )


def connection_ack(user_id: str, info: UserSessionInfo) -> str:
    return serialise(ConnectionAck(session_id=user_id, user_session=info, timestamp=iso_now()))


def app_state_change(user_id: str, info: UserSessionInfo) -> str:
    return serialise(AppStateChange(session_id=user_id, user_session=info, timestamp=iso_now()))


def microphone_state_change(
    user_id: str, info: UserSessionInfo, enabled: bool, required: tuple[str, ...]
) -> str:
    return serialise(
        MicrophoneStateChange(
            session_id=user_id,
            user_session=info,
            is_microphone_enabled=enabled,
            required_data=required,  # type: ignore[arg-type]
            bypass_vad=False,
            timestamp=iso_now(),
        )
    )


def session_request(session_id: str, user_id: str, ws_url: str) -> dict[str, Any]:
    return to_dict(
        SessionRequest(
            session_id=session_id,
            user_id=user_id,
            timestamp=iso_now(),
            augment_os_websocket_url=ws_url,
            mentra_os_websocket_url=ws_url,
        )
    )


def stop_request(session_id: str, user_id: str, reason: str) -> dict[str, Any]:
    return to_dict(
        StopRequest(session_id=session_id, user_id=user_id, reason=reason, timestamp=iso_now())
    )


def server_registration(registration_id: str, package: str, urls: list[str]) -> dict[str, Any]:
    return to_dict(
        ServerRegistration(
            session_id=f"registration-{registration_id}",
            user_id="system",
            timestamp=iso_now(),
            registration_id=registration_id,
            package_name=package,
            server_urls=tuple(urls),
        )
    )


def server_heartbeat(registration_id: str) -> dict[str, Any]:
    return to_dict(
        ServerHeartbeat(
            session_id=f"registration-{registration_id}",
            user_id="system",
            timestamp=iso_now(),
            registration_id=registration_id,
        )
    )
