"""Webhooks the cloud POSTs to app servers, and their replies (spec §7)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from wsquake.protocol._codec import Message, Payload, decode_payload, encode_payload
from wsquake.protocol.exceptions import NotAnObject, NotJson
from wsquake.protocol.glasses import Timestamp

__all__ = [
    "ReplyStatus",
    "ServerHeartbeat",
    "ServerRegistration",
    "SessionRequest",
    "StopRequest",
    "WebhookReply",
    "parse_webhook_reply",
    "serialise_webhook_reply",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRequest(Message):
    """Start an app for a user. Both URLs carry ``app_ws_public_url``; the SDK prefers
    ``mentraOSWebsocketUrl`` (see :attr:`websocket_url`)."""

    TYPE = "session_request"
    session_id: str
    user_id: str
    timestamp: Timestamp | None = None
    augment_os_websocket_url: str | None = field(
        default=None, metadata={"wire": "augmentOSWebsocketUrl"}
    )
    mentra_os_websocket_url: str | None = field(
        default=None, metadata={"wire": "mentraOSWebsocketUrl"}
    )

    @property
    def websocket_url(self) -> str | None:
        return self.mentra_os_websocket_url or self.augment_os_websocket_url


@dataclass(frozen=True, slots=True, kw_only=True)
class StopRequest(Message):
    """``reason`` is a :class:`~wsquake.protocol.codes.StopReason` value."""

    TYPE = "stop_request"
    session_id: str
    user_id: str
    reason: str
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerRegistration(Message):
    """*(optional)* ``sessionId`` is ``"registration-<id>"``, ``userId`` is ``"system"``."""

    TYPE = "server_registration"
    session_id: str
    user_id: str
    registration_id: str
    package_name: str
    server_urls: tuple[str, ...] = ()
    timestamp: Timestamp | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerHeartbeat(Message):
    TYPE = "server_heartbeat"
    session_id: str
    user_id: str
    registration_id: str
    timestamp: Timestamp | None = None


class ReplyStatus(StrEnum):
    SUCCESS = "success"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookReply(Payload):
    """The app server's reply body: ``{"status":"success"}`` or
    ``{"status":"error","message":…}`` (no ``type``). Success is decided by the HTTP
    status, not by this body."""

    status: ReplyStatus
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is ReplyStatus.SUCCESS


def parse_webhook_reply(text: str | bytes) -> WebhookReply:
    """Decode a webhook reply body; errors name ``webhook_reply`` and the field."""
    try:
        obj: Any = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotJson(str(exc)) from None
    except RecursionError:
        raise NotJson("nested too deeply") from None
    if not isinstance(obj, dict):
        raise NotAnObject(obj)
    reply: WebhookReply = decode_payload(WebhookReply, obj, "webhook_reply")
    return reply


def serialise_webhook_reply(reply: WebhookReply) -> str:
    return json.dumps(encode_payload(reply), separators=(",", ":"), ensure_ascii=False)
