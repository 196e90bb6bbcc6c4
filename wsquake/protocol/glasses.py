"""Glasses <-> cloud messages (spec §3-§5).

Glasses -> cloud messages keep every unknown key in ``extras`` (the simulators add a
per-stream ``seq``), so ``to_dict(msg)`` is the original message the cloud relays as
``data_stream.data``. Timestamps from clients stay as sent (ISO-8601 string or epoch ms).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from wsquake.protocol._codec import Message, Payload

__all__ = [
    "AppStateChange",
    "ButtonPress",
    "CalendarEvent",
    "ConnectionAck",
    "ConnectionError",
    "ConnectionInit",
    "DisplayEvent",
    "DisplayView",
    "GlassesBatteryUpdate",
    "GlassesConnectionState",
    "GlassesEvent",
    "HeadPosition",
    "HeadPositionValue",
    "LocationUpdate",
    "MicrophoneStateChange",
    "NotificationDismissed",
    "NotificationPriority",
    "PhoneBatteryUpdate",
    "PhoneNotification",
    "PhoneNotificationDismissed",
    "PressType",
    "RequestSettings",
    "SettingsUpdate",
    "StartApp",
    "StopApp",
    "Timestamp",
    "UserSessionInfo",
    "Vad",
    "WifiInfo",
]

Timestamp = str | int | float
"""ISO-8601 string (cloud) or epoch milliseconds (Android); kept as sent."""

_OBJ = Mapping[str, Any]


class HeadPositionValue(StrEnum):
    UP = "up"
    DOWN = "down"


class PressType(StrEnum):
    SHORT = "short"
    LONG = "long"


class NotificationPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class DisplayView(StrEnum):
    MAIN = "main"
    DASHBOARD = "dashboard"


# --- glasses -> cloud ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionInit(Message):
    """Sent after every open (Android 1 s, iOS 2 s); a ``coreToken`` here is ignored."""

    TYPE = "connection_init"
    core_token: str | None = None
    user_id: str | None = None
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StartApp(Message):
    TYPE = "start_app"
    package_name: str
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StopApp(Message):
    TYPE = "stop_app"
    package_name: str
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Vad(Message):
    """Voice activity; ``status`` is a boolean or the string ``"true"``/``"false"``."""

    TYPE = "VAD"
    status: bool | Literal["true", "false"]
    timestamp: Timestamp | None = None

    @property
    def active(self) -> bool:
        return self.status is True or self.status == "true"


@dataclass(frozen=True, slots=True, kw_only=True)
class HeadPosition(Message):
    TYPE = "head_position"
    position: HeadPositionValue
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ButtonPress(Message):
    TYPE = "button_press"
    button_id: str
    press_type: PressType
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _BatteryUpdate(Message):
    level: int | float = field(metadata={"min": 0, "max": 100})
    charging: bool
    time_remaining: int | float | None = None
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GlassesBatteryUpdate(_BatteryUpdate):
    TYPE = "glasses_battery_update"


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneBatteryUpdate(_BatteryUpdate):
    TYPE = "phone_battery_update"


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationUpdate(Message):
    TYPE = "location_update"
    lat: float = field(metadata={"min": -90, "max": 90})
    lng: float = field(metadata={"min": -180, "max": 180})
    accuracy: float | None = None
    correlation_id: str | None = None
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarEvent(Message):
    """``timezone`` (iOS/spec) and ``timeZone`` (Android) are both accepted and kept."""

    TYPE = "calendar_event"
    event_id: str | int
    title: str
    dt_start: Timestamp
    dt_end: Timestamp
    timezone: str | None = None
    time_zone: str | None = None
    time_stamp: Timestamp | None = None
    timestamp: Timestamp | None = None

    @property
    def tz(self) -> str | None:
        return self.timezone if self.timezone is not None else self.time_zone


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneNotification(Message):
    TYPE = "phone_notification"
    notification_id: str | int
    app: str
    title: str
    content: str
    priority: NotificationPriority
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneNotificationDismissed(Message):
    """SDK 2.1.29 spelling; :class:`NotificationDismissed` is the mid-2025 alias."""

    TYPE = "phone_notification_dismissed"
    notification_id: str | int
    app: str | None = None
    title: str | None = None
    content: str | None = None
    notification_key: str | None = None
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationDismissed(PhoneNotificationDismissed):
    TYPE = "notification_dismissed"


@dataclass(frozen=True, slots=True, kw_only=True)
class WifiInfo(Payload):
    connected: bool
    ssid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GlassesConnectionState(Message):
    TYPE = "glasses_connection_state"
    model_name: str
    status: str
    wifi: WifiInfo | None = None
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestSettings(Message):
    TYPE = "request_settings"
    session_id: str
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GlassesEvent(Message):
    """Any other glasses message (``core_status_update``, ``open_dashboard``, …): kept
    whole and relayed by exact type. Every key but ``type`` is in ``extras``."""

    event_type: str = field(metadata={"wire": "type"})

    @property
    def type(self) -> str:
        return self.event_type


# --- cloud -> glasses ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class UserSessionInfo(Payload):
    """``userSession`` in ``connection_ack`` / ``app_state_change`` (§3.2).

    ``loading_apps`` is a list; under D11 upstream serialised it as ``{}``, so an object
    is accepted too (see :attr:`loading_apps_is_list`).
    """

    user_id: str
    start_time: Timestamp | None = None
    active_app_sessions: tuple[str, ...] = ()
    loading_apps: tuple[str, ...] | Mapping[str, Any] = ()
    app_subscriptions: Mapping[str, tuple[str | _OBJ, ...]] = field(default_factory=dict)
    requires_audio: bool = False
    minimum_transcription_languages: tuple[str, ...] = ()
    is_transcribing: bool = False

    @property
    def loading_apps_is_list(self) -> bool:
        return isinstance(self.loading_apps, tuple)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionAck(Message):
    """Sent on open and after every ``connection_init``. The SDK declares it without
    ``userSession``, so it is optional here."""

    TYPE = "connection_ack"
    session_id: str
    user_session: UserSessionInfo | None = None
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionError(Message):  # noqa: A001 - the wire name
    """``code`` is a :class:`~wsquake.protocol.codes.GlassesErrorCode` value when set."""

    TYPE = "connection_error"
    message: str
    code: str | None = None
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DisplayEvent(Message):
    """Both app -> cloud and cloud -> glasses. ``layout`` is ``{layoutType, …}``; an
    unknown ``view`` is kept as sent and reads as ``main`` through :attr:`view_kind`."""

    TYPE = "display_event"
    package_name: str
    view: str
    layout: Mapping[str, Any]
    duration_ms: int | float | None = None
    force_display: bool | None = None
    session_id: str | None = None
    timestamp: Timestamp | None = None

    @property
    def view_kind(self) -> DisplayView:
        return DisplayView.DASHBOARD if self.view == "dashboard" else DisplayView.MAIN

    @property
    def layout_type(self) -> str | None:
        value = self.layout.get("layoutType")
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class AppStateChange(Message):
    TYPE = "app_state_change"
    session_id: str
    user_session: UserSessionInfo
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MicrophoneStateChange(Message):
    TYPE = "microphone_state_change"
    session_id: str
    is_microphone_enabled: bool
    user_session: UserSessionInfo | None = None
    required_data: tuple[Literal["pcm", "transcription", "pcm_or_transcription"], ...] = ()
    bypass_vad: bool = False
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsUpdate(Message):
    """*(optional)* To the glasses ``settings`` is an object (§5); to an app the SDK
    declares it as the app's settings array ``[{key, value, …}]`` with ``packageName``."""

    TYPE = "settings_update"
    settings: Mapping[str, Any] | tuple[Mapping[str, Any], ...]
    session_id: str | None = None
    package_name: str | None = None
    timestamp: Timestamp | None = None
