"""Glasses -> cloud messages (PROTOCOL.md §4): dispatch, relay to subscribed apps as
``data_stream``, location/calendar caches, binary audio and the synthetic transcriber.

Delivery to an app: bound and running -> its socket; ``grace_period``/``resurrecting`` ->
the grace buffer (``grace_buffer_messages``, oldest dropped and counted); otherwise
dropped and counted (``no_socket``).
"""

from __future__ import annotations

import logging
from typing import Any

from wsquake.cloud import wire
from wsquake.cloud.apps import AppManager
from wsquake.cloud.core import CloudCore
from wsquake.cloud.model import AppRecord, UserSession
from wsquake.cloud.transport import Connection
from wsquake.protocol.codes import CloseCode, GlassesErrorCode, StopReason
from wsquake.protocol.lifecycle import AppState
from wsquake.protocol.streams import (
    Subscription,
    delivery_stream_type,
    matches_audio,
    subscription_matches,
)

__all__ = ["Relay"]

logger = logging.getLogger(__name__)

CALENDAR_CACHE_MAX = 100
_NOT_RELAYED = frozenset({"connection_init", "start_app", "stop_app", "request_settings"})


class Relay:
    def __init__(self, core: CloudCore, apps: AppManager) -> None:
        self.core = core
        self.apps = apps

    # --- inbound -------------------------------------------------------------------------

    def on_text(self, user: UserSession, conn: Connection, text: str) -> None:
        try:
            decoded = wire.decode_glasses(text)
        except wire.ParseError as exc:
            self.core.metrics.bad_frames.labels(kind="glasses", reason=type(exc).__name__).inc()
            logger.info("%s: bad glasses frame: %s", user.user_id, exc)
            code = GlassesErrorCode.MALFORMED_MESSAGE.value
            conn.send_text(wire.connection_error(code, str(exc)))
            conn.close(CloseCode.POLICY_VIOLATION, _reason(str(exc)))
            return
        if user.glasses is not conn:
            return  # a detached socket's late frame
        data, kind = decoded.data, decoded.type
        if kind == "connection_init":
            conn.send_text(self.core.connection_ack(user))
            if user.fresh and self.core.defects.enabled("duplicate_init_restart"):
                # D10: upstream's init handler started a fresh session's apps a second
                # time (deduplicated against loading/running apps only).
                self.apps.start_session_apps(user)
            user.fresh = False
        elif kind == "start_app":
            self.apps.start_app(user, str(data["packageName"]))
        elif kind == "stop_app":
            self.apps.stop_app(user, str(data["packageName"]), StopReason.USER_DISABLED)
        elif kind == "VAD":
            status = data.get("status")
            if status is True or status == "true":
                user.transcription_active = True
        elif kind == "location_update":
            user.location = data
        elif kind == "request_settings":
            conn.send_text(wire.settings_update(user.user_id))
        elif kind == "calendar_event":
            user.calendar.append(data)
            del user.calendar[:-CALENDAR_CACHE_MAX]
        if kind not in _NOT_RELAYED:
            self.relay(user, kind, data)

    def on_audio(self, user: UserSession, conn: Connection, frame: bytes) -> None:
        if user.glasses is not conn:
            return
        for rec in user.apps.values():
            if any(matches_audio(s) for s in rec.subscriptions):
                self.deliver(rec, frame)
        if self.core.is_transcribing(user):
            segment = user.transcriber.feed(frame)
            if segment is not None:
                self._transcription(user, *segment)

    # --- outbound ------------------------------------------------------------------------

    def relay(self, user: UserSession, event_type: str, data: dict[str, Any]) -> None:
        gesture = data.get("gesture") if isinstance(data.get("gesture"), str) else None
        for rec in user.apps.values():
            sub = _best_match(rec.subscriptions, event_type, gesture)
            if sub is not None:
                stream = delivery_stream_type(sub, event_type)
                self.deliver(rec, wire.data_stream(rec.session_id, stream, data))

    def _transcription(self, user: UserSession, text: str, start: float, end: float) -> None:
        for rec in user.apps.values():
            for sub in rec.subscriptions:
                if sub.base.value != "transcription" or sub.language is None:
                    continue
                payload = {
                    "type": "transcription",
                    "text": text,
                    "isFinal": True,
                    "startTime": int(start),
                    "endTime": int(end),
                    "transcribeLanguage": sub.language,
                    "speakerId": "0",
                    "duration": int(end - start),
                }
                self.deliver(rec, wire.data_stream(rec.session_id, sub.raw, payload))

    def deliver(self, rec: AppRecord, item: str | bytes) -> None:
        metrics = self.core.metrics
        if rec.state is AppState.RUNNING and rec.conn is not None:
            conn = rec.conn
            ok = conn.send_text(item) if isinstance(item, str) else conn.send_bytes(item)
            if not ok:
                metrics.messages_dropped.labels(reason="no_socket").inc()
            return
        if rec.state in (AppState.GRACE_PERIOD, AppState.RESURRECTING):
            limit = self.core.timings.grace_buffer_messages
            # D5: upstream dropped data for an app without a socket; a zero buffer is the
            # same switch.
            if limit <= 0 or self.core.defects.enabled("drop_during_grace"):
                metrics.messages_dropped.labels(reason="grace").inc()
                return
            rec.buffer.append(item)
            while len(rec.buffer) > limit:
                rec.buffer.popleft()
                metrics.messages_dropped.labels(reason="grace").inc()
            return
        metrics.messages_dropped.labels(reason="no_socket").inc()

    def replay_caches(self, user: UserSession, rec: AppRecord, new: list[Subscription]) -> None:
        """Send cached location/calendar to an app that just subscribed to them (§6.2)."""
        if user.location is not None:
            sub = _best_match(tuple(new), "location_update", None)
            if sub is not None:
                stream = delivery_stream_type(sub, "location_update")
                self.deliver(rec, wire.data_stream(rec.session_id, stream, user.location))
        if user.calendar:
            sub = _best_match(tuple(new), "calendar_event", None)
            if sub is not None:
                stream = delivery_stream_type(sub, "calendar_event")
                for event in user.calendar:
                    self.deliver(rec, wire.data_stream(rec.session_id, stream, event))


def _best_match(
    subs: tuple[Subscription, ...], event_type: str, gesture: str | None
) -> Subscription | None:
    """The app's subscription that delivers ``event_type``: exact ones before wildcards."""
    wildcard: Subscription | None = None
    for sub in subs:
        if subscription_matches(sub, event_type, gesture=gesture):
            if not sub.is_wildcard:
                return sub
            wildcard = wildcard or sub
    return wildcard


def _reason(text: str) -> str:
    """Close reasons are limited to 123 bytes."""
    encoded = text.encode()
    if len(encoded) <= 123:
        return text
    return encoded[:120].decode(errors="ignore") + "..."
