"""App (TPA) <-> cloud messages (spec §6). ``display_event`` is
:class:`~wsquake.protocol.glasses.DisplayEvent`, shared with the glasses direction.

The wire strings still say "tpa" in the newest SDK. After the init every message on an
app socket belongs to the bound app: the ``sessionId``/``packageName`` fields of later
messages are informational and must not be used for routing (§6.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wsquake.protocol._codec import Message, Payload
from wsquake.protocol.glasses import Timestamp

__all__ = [
    "AppPermissionError",
    "AppStopped",
    "AugmentosSettingsUpdate",
    "CustomMessage",
    "DashboardAlwaysOnChanged",
    "DashboardContentUpdate",
    "DashboardModeChange",
    "DashboardModeChanged",
    "DashboardSystemUpdate",
    "DataStream",
    "OwnershipRelease",
    "PermissionErrorDetail",
    "SubscriptionUpdate",
    "TpaConnectionAck",
    "TpaConnectionError",
    "TpaConnectionInit",
    "TranscriptionData",
    "TranslationData",
]

SubscriptionEntry = str | Mapping[str, Any]

# --- app -> cloud -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TpaConnectionInit(Message):
    """First message on an app socket; ``session_id`` is ``"<userId>-<packageName>"``."""

    TYPE = "tpa_connection_init"
    session_id: str
    package_name: str
    api_key: str
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionUpdate(Message):
    """Full replacement of the app's subscriptions. Entries stay raw here; parse each
    with :func:`wsquake.protocol.streams.parse_subscription` (an invalid entry is a
    ``MALFORMED_MESSAGE``, not a parse error of the message)."""

    TYPE = "subscription_update"
    package_name: str
    subscriptions: tuple[SubscriptionEntry, ...]
    session_id: str | None = None
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DashboardContentUpdate(Message):
    TYPE = "dashboard_content_update"
    content: Any
    modes: tuple[str, ...] = ()
    package_name: str | None = None
    session_id: str | None = None
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DashboardModeChange(Message):
    TYPE = "dashboard_mode_change"
    mode: str
    package_name: str | None = None
    session_id: str | None = None
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DashboardSystemUpdate(Message):
    """``section`` is ``topLeft``, ``topRight``, ``bottomLeft`` or ``bottomRight``."""

    TYPE = "dashboard_system_update"
    section: str
    content: Any
    package_name: str | None = None
    session_id: str | None = None
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnershipRelease(Message):
    """``reason`` is an :class:`~wsquake.protocol.codes.OwnershipReleaseReason` value."""

    TYPE = "ownership_release"
    reason: str
    package_name: str | None = None
    session_id: str | None = None
    timestamp: Timestamp | None = None


# --- cloud -> app -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TpaConnectionAck(Message):
    """``augmentos_settings`` and ``mentraos_settings`` carry the same object (§6.1)."""

    TYPE = "tpa_connection_ack"
    session_id: str
    settings: tuple[Mapping[str, Any], ...] = ()
    augmentos_settings: Mapping[str, Any] | None = None
    mentraos_settings: Mapping[str, Any] | None = None
    capabilities: Mapping[str, Any] | None = None
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TpaConnectionError(Message):
    """``code`` is a :class:`~wsquake.protocol.codes.TpaErrorCode` value; followed by
    close 1008 with ``message`` as the reason."""

    TYPE = "tpa_connection_error"
    code: str
    message: str
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PermissionErrorDetail(Payload):
    stream: str
    required_permission: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AppPermissionError(Message):
    """``permission_error`` (§6.4); named so it does not shadow the builtin."""

    TYPE = "permission_error"
    message: str
    details: tuple[PermissionErrorDetail, ...] = ()
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DataStream(Message):
    """``stream_type`` is the app's own subscription string that matched (§6.6); ``data``
    is the original glasses message, or a transcription/translation object."""

    TYPE = "data_stream"
    session_id: str
    stream_type: str
    data: Any
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptionData(Message):
    """``data`` of a transcription ``data_stream`` (§6.6); not a frame of its own.
    The SDK declares ``transcribeLanguage`` optional, so it is optional here too."""

    TYPE = "transcription"
    text: str
    is_final: bool
    start_time: int | float
    end_time: int | float
    transcribe_language: str | None = None
    speaker_id: str | None = None
    duration: int | float | None = None
    utterance_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TranslationData(Message):
    """``data`` of a translation ``data_stream``: a transcription plus the translation."""

    TYPE = "translation"
    text: str
    original_text: str
    is_final: bool
    start_time: int | float
    end_time: int | float
    transcribe_language: str
    translate_language: str
    did_translate: bool
    speaker_id: str | None = None
    duration: int | float | None = None
    utterance_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AppStopped(Message):
    """``reason`` is an :class:`~wsquake.protocol.codes.AppStoppedReason` value; mid-2025
    omitted it."""

    TYPE = "app_stopped"
    reason: str | None = None
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DashboardModeChanged(Message):
    TYPE = "dashboard_mode_changed"
    mode: str
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DashboardAlwaysOnChanged(Message):
    """*(optional)*"""

    TYPE = "dashboard_always_on_changed"
    enabled: bool
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AugmentosSettingsUpdate(Message):
    """*(optional)* delivery for ``augmentos:<key>`` subscribers."""

    TYPE = "augmentos_settings_update"
    settings: Mapping[str, Any]
    session_id: str | None = None
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomMessage(Message):
    """*(optional)*"""

    TYPE = "custom_message"
    action: str
    payload: Any = None
    timestamp: Timestamp | None = None


