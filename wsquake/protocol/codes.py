"""Close codes, close reasons and error codes on the wire (spec §5, §6.1, §6.6, §7.1, §11)."""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = [
    "AppStoppedReason",
    "CloseCode",
    "CloseReason",
    "GlassesErrorCode",
    "OwnershipReleaseReason",
    "StopReason",
    "TpaErrorCode",
]


class CloseCode(IntEnum):
    """WebSocket close codes used by the cloud and its clients (§11)."""

    NORMAL = 1000
    """Stop procedure, user-session dispose, replaced glasses socket."""
    GOING_AWAY = 1001
    """Pong deadline (``"Ping timeout - no pong received"``)."""
    NO_STATUS = 1005
    """No close code: the SDK's ``disconnect()``."""
    ABNORMAL = 1006
    """Transport loss without a close frame; never sent on the wire."""
    POLICY_VIOLATION = 1008
    """After a ``tpa_connection_error``/``connection_error``; superseded app socket."""
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    SEND_FAILED = 1069
    """Cloud-internal: a send found the app socket gone (upstream); never on the wire."""
    MAX_RECONNECTS = 4000
    """SDK-internal: retries exhausted; never on the wire."""


class CloseReason(StrEnum):
    """Close reasons with a fixed text (§11). Clients match with ``in`` (substring)."""

    APP_STOPPED = "App stopped"
    USER_SESSION_ENDED = "User session ended"
    REPLACED = "Replaced by new connection"
    PING_TIMEOUT = "Ping timeout - no pong received"
    SUPERSEDED = "Superseded by a newer connection"
    INVALID_SESSION_ID = "Invalid session ID format"
    MAX_RECONNECTS = "Maximum reconnection attempts exceeded"


class TpaErrorCode(StrEnum):
    """``tpa_connection_error.code`` (§6.1)."""

    MALFORMED_MESSAGE = "MALFORMED_MESSAGE"
    PACKAGE_NOT_FOUND = "PACKAGE_NOT_FOUND"
    INVALID_API_KEY = "INVALID_API_KEY"
    SESSION_NOT_FOUND = "SESSION_NOT_FOUND"
    APP_NOT_STARTED = "APP_NOT_STARTED"
    INVALID_JWT = "INVALID_JWT"
    JWT_SIGNATURE_FAILED = "JWT_SIGNATURE_FAILED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    MISSING_HEADERS = "MISSING_HEADERS"
    JWT_INVALID = "JWT_INVALID"


class GlassesErrorCode(StrEnum):
    """``connection_error.code`` towards the glasses (§5)."""

    INVALID_TOKEN = "INVALID_TOKEN"
    SESSION_ERROR = "SESSION_ERROR"
    MALFORMED_MESSAGE = "MALFORMED_MESSAGE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class StopReason(StrEnum):
    """``stop_request.reason`` (§7.1)."""

    USER_DISABLED = "user_disabled"
    SYSTEM_STOP = "system_stop"
    ERROR = "error"


class AppStoppedReason(StrEnum):
    """``app_stopped.reason`` (§6.6); mid-2025 omitted it."""

    USER_DISABLED = "user_disabled"
    SYSTEM_STOP = "system_stop"
    ERROR = "error"


class OwnershipReleaseReason(StrEnum):
    """``ownership_release.reason`` (§6.5)."""

    SWITCHING_CLOUDS = "switching_clouds"
    CLEAN_SHUTDOWN = "clean_shutdown"
    USER_LOGOUT = "user_logout"
