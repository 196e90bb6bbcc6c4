"""App socket messages (PROTOCOL.md §6): the init checks in their exact order, then
routing by the bound socket only: ``subscription_update``, ``display_event``,
``ownership_release``; anything else is logged and ignored."""

from __future__ import annotations

import logging

from wsquake.cloud import wire
from wsquake.cloud.apps import AppManager
from wsquake.cloud.core import CloudCore
from wsquake.cloud.exceptions import AppInitError
from wsquake.cloud.model import ACTIVE_APP_STATES, AppRecord, UserSession
from wsquake.cloud.relay import Relay, _reason
from wsquake.cloud.transport import Connection
from wsquake.protocol.apps import PermissionErrorDetail
from wsquake.protocol.codes import CloseCode, CloseReason, TpaErrorCode
from wsquake.protocol.exceptions import InvalidSessionId, InvalidStream
from wsquake.protocol.ids import legacy_split, user_for_package
from wsquake.protocol.lifecycle import AppState, SessionState
from wsquake.protocol.streams import (
    Subscription,
    is_permitted,
    parse_subscription,
    required_permission,
)

__all__ = ["AppSocketHandler"]

logger = logging.getLogger(__name__)

_LIVE = (SessionState.INITIALIZING, SessionState.CONNECTED, SessionState.CONNECTING)


class AppSocketHandler:
    def __init__(self, core: CloudCore, apps: AppManager, relay: Relay) -> None:
        self.core = core
        self.apps = apps
        self.relay = relay

    def fail(self, conn: Connection, code: str, message: str, reason: str | None = None) -> None:
        """``tpa_connection_error`` then close 1008 with the message as reason."""
        self.core.metrics.tpa_connection_errors.labels(code=code).inc()
        conn.send_text(wire.tpa_connection_error(code, message))
        conn.close(CloseCode.POLICY_VIOLATION, _reason(reason if reason is not None else message))

    def on_binary(self, conn: Connection) -> None:
        if conn.binding is None:
            self.core.metrics.bad_frames.labels(kind="app", reason="binary_before_init").inc()
            self.fail(conn, TpaErrorCode.MALFORMED_MESSAGE.value,
                      "Binary frames are not accepted from apps")
        else:
            self.core.metrics.bad_frames.labels(kind="app", reason="binary_ignored").inc()
            logger.info("%r: binary frame from an app ignored", conn)

    def on_text(self, conn: Connection, text: str) -> None:
        try:
            decoded = wire.decode_app(text)
        except wire.UnknownType as exc:
            if conn.binding is not None:
                self.core.metrics.bad_frames.labels(kind="app", reason="unknown_type").inc()
                logger.info("%r: unknown app message ignored: %s", conn, exc)
                return
            self._malformed(conn, str(exc))
            return
        except wire.ParseError as exc:
            self._malformed(conn, str(exc))
            return
        if decoded.type == "tpa_connection_init":
            self._init(conn, decoded)
            return
        if conn.binding is None:
            first = f"First message must be tpa_connection_init, got {decoded.type!r}"
            self._malformed(conn, first)
            return
        found = self.core.find_app(*conn.binding)
        if found is None or found[1].conn is not conn:
            logger.info("%r: message on a detached app socket ignored", conn)
            return
        user, rec = found
        if decoded.type == "subscription_update":
            self._subscriptions(conn, user, rec, decoded.data.get("subscriptions"))
        elif decoded.type == "display_event":
            self._display(user, rec, decoded.data)
        elif decoded.type == "dashboard_mode_change":
            self._dashboard_mode(user, str(decoded.data.get("mode", "")))
        elif decoded.type == "dashboard_content_update":
            rec.dashboard_content = decoded.data.get("content")
        elif decoded.type == "dashboard_system_update":
            if rec.entry is not None and rec.entry.type == "system_dashboard":
                rec.dashboard_content = decoded.data.get("content")
            else:
                logger.info("%s: dashboard_system_update from a non-system app ignored",
                            rec.session_id)
        elif decoded.type == "ownership_release":
            rec.ownership_released = str(decoded.data.get("reason", ""))
            logger.info("%s: ownership_release %s", rec.session_id, rec.ownership_released)
        else:
            logger.debug("%s: %s ignored", rec.session_id, decoded.type)

    def _malformed(self, conn: Connection, message: str) -> None:
        self.core.metrics.bad_frames.labels(kind="app", reason="malformed").inc()
        self.fail(conn, TpaErrorCode.MALFORMED_MESSAGE.value, message)

    # --- §6.1 -----------------------------------------------------------------------------

    def _init(self, conn: Connection, decoded: wire.Decoded) -> None:
        try:
            user, rec = self._check_init(decoded)
        except AppInitError as exc:
            logger.info("%r: init refused: %s", conn, exc)
            self.fail(conn, exc.code, exc.message, exc.reason)
            return
        if conn.binding is not None and conn.binding != (user.user_id, rec.package):
            self.fail(conn, TpaErrorCode.MALFORMED_MESSAGE.value,
                      "This socket is already bound to another app session")
            return
        self.apps.bind(user, rec, conn)

    def _check_init(self, decoded: wire.Decoded) -> tuple[UserSession, AppRecord]:
        data = decoded.data
        package = data.get("packageName")
        session_id = data.get("sessionId")
        api_key = data.get("apiKey")
        if not isinstance(package, str) or not package:
            raise AppInitError(TpaErrorCode.MALFORMED_MESSAGE.value,
                               "tpa_connection_init: field 'packageName' must be a string")
        entry = self.core.registry.get(package)
        if entry is None:
            raise AppInitError(TpaErrorCode.PACKAGE_NOT_FOUND.value,
                               f"Package {package} not found")
        if not isinstance(api_key, str) or not self.core.registry.api_key_matches(entry, api_key):
            raise AppInitError(TpaErrorCode.INVALID_API_KEY.value,
                               f"Invalid API key for package {package}")
        if not isinstance(session_id, str):
            raise AppInitError(TpaErrorCode.SESSION_NOT_FOUND.value, "Invalid session ID format",
                               CloseReason.INVALID_SESSION_ID.value)
        try:
            if self.core.defects.enabled("split_session_id"):
                # D1: upstream took ``sessionId.split('-')[0]`` as the user, so a '-' in
                # the email names a user that does not exist (SESSION_NOT_FOUND + 1008).
                user_id = legacy_split(session_id)[0]
            else:
                user_id = user_for_package(session_id, package)
        except InvalidSessionId as exc:
            raise AppInitError(TpaErrorCode.SESSION_NOT_FOUND.value,
                               f"Invalid session ID format: {exc}",
                               CloseReason.INVALID_SESSION_ID.value) from exc
        user = self.core.users.get(user_id)
        if user is None or user.state not in _LIVE:
            raise AppInitError(TpaErrorCode.SESSION_NOT_FOUND.value,
                               f"No active session for user {user_id}")
        rec = user.apps.get(package)
        if rec is None or rec.state not in ACTIVE_APP_STATES:
            raise AppInitError(TpaErrorCode.APP_NOT_STARTED.value,
                               f"App {package} is not started for user {user_id}")
        return user, rec

    # --- §6.2-6.4 ---------------------------------------------------------------------------

    def _subscriptions(
        self, conn: Connection, user: UserSession, rec: AppRecord, raw: object
    ) -> None:
        if not isinstance(raw, list):
            self._malformed(conn, "subscription_update: field 'subscriptions' must be an array")
            return
        parsed: list[Subscription] = []
        for i, entry in enumerate(raw):
            try:
                parsed.append(parse_subscription(entry))
            except InvalidStream as exc:
                self._malformed(conn, f"subscription_update: subscriptions[{i}]: {exc}")
                return
        assert rec.entry is not None
        accepted: list[Subscription] = []
        details: list[PermissionErrorDetail] = []
        for sub in parsed:
            if is_permitted(sub, rec.entry.permissions):
                if sub not in accepted:
                    accepted.append(sub)
            else:
                needed = required_permission(sub)
                need = needed.value if needed is not None else ""
                details.append(
                    PermissionErrorDetail(
                        stream=sub.raw,
                        required_permission=need,
                        message=f"Permission {need} is required for {sub.raw}",
                    )
                )
        if details:
            conn.send_text(wire.permission_error(details))
        old = set(rec.subscriptions)
        rec.subscriptions = tuple(accepted)
        new = [s for s in accepted if s not in old]
        if new:
            self.relay.replay_caches(user, rec, new)
        self.core.notify_state(user)

    def _dashboard_mode(self, user: UserSession, mode: str) -> None:
        """*(optional)* tell every running app the dashboard mode changed."""
        text = wire.dashboard_mode_changed(mode)
        for other in user.apps.values():
            if other.conn is not None and other.state is AppState.RUNNING:
                other.conn.send_text(text)

    def _display(self, user: UserSession, rec: AppRecord, data: dict[str, object]) -> None:
        exempt = rec.entry is not None and rec.entry.type == "system_dashboard"
        user.display.request(rec.package, dict(data), exempt=exempt)
