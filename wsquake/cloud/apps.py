"""App lifecycle per (user, package): start (A1), bind (A2), start failure (A3), socket
loss and grace (A4), resurrection (A5), stop procedure (A6) and restart recovery (§7.3).

Timers are ``loop.call_later`` handles stored on the :class:`AppRecord` and cancelled on
every transition away from the state that armed them; async flows (webhooks) are tasks in
the server's TaskGroup. ``generation`` guards every callback against a record that moved
on while it waited.
"""

from __future__ import annotations

import logging
from typing import Any

from wsquake.cloud import wire
from wsquake.cloud.core import CloudCore
from wsquake.cloud.exceptions import WebhookError
from wsquake.cloud.model import ACTIVE_APP_STATES, AppRecord, UserSession
from wsquake.cloud.registry import BUILTIN_DASHBOARD
from wsquake.cloud.transport import Connection
from wsquake.cloud.webhooks import webhook_url
from wsquake.protocol.codes import CloseCode, CloseReason, StopReason
from wsquake.protocol.exceptions import InvalidSessionId
from wsquake.protocol.ids import legacy_split, make_app_session_id, user_for_package
from wsquake.protocol.lifecycle import AppState

__all__ = ["AppManager"]

logger = logging.getLogger(__name__)


class AppManager:
    def __init__(self, core: CloudCore) -> None:
        self.core = core

    # --- A1: start -------------------------------------------------------------------------

    def start_session_apps(self, user: UserSession) -> None:
        """A new session's starts (§9.2): system apps, then every persisted running app,
        concurrently; ``start_app`` deduplicates against loading/running apps."""
        self.start_system_apps(user)
        for package in sorted(self.core.running_apps.get(user.user_id, set())):
            self.start_app(user, package)

    def restore_leaked_subscriptions(self, user: UserSession) -> None:
        """D9 only: a new session inherits the subscription sets a disposed session of
        the same email left behind, as records of apps that are not running."""
        for key in [k for k in self.core.leaked_subscriptions if k[0] == user.user_id]:
            subscriptions = self.core.leaked_subscriptions.pop(key)
            entry = self.core.registry.get(key[1])
            if entry is None or key[1] in user.apps:
                continue
            user.apps[key[1]] = AppRecord(
                user_id=user.user_id,
                package=key[1],
                session_id=make_app_session_id(user.user_id, key[1]),
                entry=entry,
                state=AppState.DISCONNECTED,  # a leftover, never started in this session
                subscriptions=subscriptions,
            )

    def start_system_apps(self, user: UserSession) -> None:
        """The dashboard on every new session: the registry's ``system_dashboard`` entry
        through the normal start, else the built-in in-process dashboard."""
        entry = self.core.registry.dashboard()
        if entry is not None:
            self.start_app(user, entry.package_name)
            return
        if BUILTIN_DASHBOARD in user.apps:
            return
        rec = AppRecord(
            user_id=user.user_id,
            package=BUILTIN_DASHBOARD,
            session_id=make_app_session_id(user.user_id, BUILTIN_DASHBOARD),
            entry=None,
            started_at=self.core.wall(),
        )
        rec.set_state(AppState.LOADING)
        rec.set_state(AppState.RUNNING)
        user.apps[BUILTIN_DASHBOARD] = rec

    def start_app(self, user: UserSession, package: str) -> None:
        entry = self.core.registry.get(package)
        if entry is None:
            logger.warning("%s: start_app for unknown package %r", user.user_id, package)
            self.core.metrics.app_start_failures.labels(stage="PACKAGE_NOT_FOUND").inc()
            return
        rec = user.apps.get(package)
        if rec is not None and rec.state in ACTIVE_APP_STATES:
            return  # dedupe: joins the pending/running one
        if rec is not None and rec.state is AppState.STOPPING:
            rec.start_after_stop = True
            return
        if entry.type == "standard":
            for other in list(user.apps.values()):
                if (
                    other.entry is not None
                    and other.entry.type == "standard"
                    and other.package != package
                    and other.state in ACTIVE_APP_STATES
                ):
                    self.stop_app(user, other.package, StopReason.USER_DISABLED)
        if rec is None:
            rec = AppRecord(
                user_id=user.user_id,
                package=package,
                session_id=make_app_session_id(user.user_id, package),
                entry=entry,
            )
            user.apps[package] = rec
        rec.set_state(AppState.LOADING)
        rec.start_failed = False
        if entry.type != "system_dashboard":
            user.display.boot(
                package, entry.display_name, self.core.timings.scaled("boot_card_ms")
            )
        self._begin_start(user, rec)
        self.core.notify_state(user)

    def _begin_start(
        self,
        user: UserSession,
        rec: AppRecord,
        *,
        url: str | None = None,
        ws_url: str | None = None,
    ) -> None:
        """Arm the start timer, then post ``session_request`` (timer first, §7.2)."""
        assert rec.entry is not None
        rec.generation += 1
        gen = rec.generation
        rec.started_at = self.core.wall()
        rec.webhook_sent = False
        if rec.start_timer is not None:
            rec.start_timer.cancel()
        rec.start_timer = self.core.later(
            self.core.timings.scaled("app_start_timeout_s"),
            lambda: self._start_timeout(user, rec, gen),
        )
        target = url or webhook_url(rec.entry.public_url)
        body = self._session_request(user, rec, ws_url or self.core.app_ws_url)
        rec.start_task = self.core.spawn(
            self._post_start(user, rec, gen, target, body), f"start:{rec.session_id}"
        )

    def _session_request(self, user: UserSession, rec: AppRecord, ws_url: str) -> dict[str, Any]:
        return wire.session_request(rec.session_id, user.user_id, ws_url)

    async def _post_start(
        self, user: UserSession, rec: AppRecord, gen: int, url: str, body: dict[str, Any]
    ) -> None:
        rec.webhook_sent = True
        try:
            await self.core.webhooks.send_start(url, body)
        except WebhookError as exc:
            if rec.generation == gen and rec.state in (AppState.LOADING, AppState.RESURRECTING):
                logger.info("%s: start webhook failed: %s", rec.session_id, exc)
                self._start_failed(user, rec, "WEBHOOK")

    def _start_timeout(self, user: UserSession, rec: AppRecord, gen: int) -> None:
        rec.start_timer = None
        if rec.generation == gen and rec.state in (AppState.LOADING, AppState.RESURRECTING):
            logger.info("%s: no init within the start timeout", rec.session_id)
            if rec.start_task is not None:
                if self.core.defects.enabled("retry_after_sdk_500"):
                    # D12: upstream let the start webhook run on: the SDK's late 500
                    # (its own handshake timed out) was retried, a second session_request
                    # for a start that had already failed.
                    logger.info("%s: start webhook left running (D12)", rec.session_id)
                else:
                    rec.start_task.cancel()  # the start failed: abandon its webhook
            self._start_failed(user, rec, "TIMEOUT")

    def _start_failed(self, user: UserSession, rec: AppRecord, stage: str) -> None:
        """A3: loading/resurrecting -> disconnected."""
        rec.set_state(AppState.DISCONNECTED)
        rec.generation += 1
        rec.start_failed = True
        rec.cancel_timers()
        rec.buffer.clear()
        self.core.metrics.app_start_failures.labels(stage=stage).inc()
        if stage == "TIMEOUT":
            self.core.running_apps.get(user.user_id, set()).discard(rec.package)
        self.core.registrations.remove_session(rec.session_id)
        user.display.clear(rec.package)
        rec.dashboard_content = None
        self.core.notify_state(user)

    # --- A2: bind ----------------------------------------------------------------------------

    def bind(self, user: UserSession, rec: AppRecord, conn: Connection) -> None:
        """A valid init on ``conn``: bind it, supersede any older socket, ack, flush."""
        old = rec.conn
        rec.set_state(AppState.RUNNING)
        rec.generation += 1
        rec.cancel_timers()
        rec.start_failed = False
        if old is not None and old is not conn:
            if self.core.defects.enabled("duplicate_app_sockets"):
                # D6: upstream overwrote the map entry and left the older socket open and
                # orphaned (still counted in ``sockets``); the last init wins.
                logger.info("%s: %r left open beside %r (D6)", rec.session_id, old, conn)
            else:
                self.detach(rec, old)
                old.close(CloseCode.POLICY_VIOLATION, CloseReason.SUPERSEDED.value)
                self.core.metrics.superseded_sockets.labels(kind="app").inc()
        rec.conn = conn
        rec.sockets.add(conn)
        conn.binding = (user.user_id, rec.package)
        rec.ownership_released = None
        conn.send_text(wire.tpa_connection_ack(rec.session_id))
        self.core.running_apps.setdefault(user.user_id, set()).add(rec.package)
        self.core.registrations.add_session(rec.package, rec.session_id)
        self.core.notify_state(user)
        while rec.buffer:
            item = rec.buffer.popleft()
            if isinstance(item, str):
                conn.send_text(item)
            else:
                conn.send_bytes(item)

    def detach(self, rec: AppRecord, conn: Connection) -> None:
        if rec.conn is conn:
            rec.conn = None
        rec.sockets.discard(conn)

    # --- A4: socket lost ---------------------------------------------------------------------

    def socket_closed(self, conn: Connection) -> None:
        """An app socket is gone. Only the bound socket's loss changes state."""
        if conn.binding is None:
            return
        user_id, package = conn.binding
        if self.core.defects.enabled("split_session_id"):
            # D1: upstream's close handler split the session id: with a '-' in the
            # package, ``split('-')[1]`` names the wrong app or none.
            user_id, package = legacy_split(make_app_session_id(user_id, package))
        found = self.core.find_app(user_id, package)
        if found is None:
            return
        user, rec = found
        rec.sockets.discard(conn)
        if rec.conn is not conn:
            if not self.core.defects.enabled("stale_close_unchecked"):
                return  # a detached/superseded socket: socket identity says nothing changes
            # D2: upstream deleted the app's connection by package, whichever socket
            # closed: a stale close unbinds the live socket and starts the grace.
            logger.info("%s: stale close of %r unbinds %r (D2)", rec.session_id, conn, rec.conn)
        rec.conn = None
        if rec.state is not AppState.RUNNING or self.core.closing:
            return
        if rec.ownership_released and self.core.settings.honor_ownership_release:
            self._released(user, rec)
            return
        rec.set_state(AppState.GRACE_PERIOD)
        gen = rec.generation
        grace = self.core.timings.scaled("app_grace_s")
        rec.grace_expires_at = self.core.wall() + grace
        rec.grace_timer = self.core.later(grace, lambda: self._grace_expired(user, rec, gen))
        logger.info("%s: socket lost, grace %.3fs", rec.session_id, grace)

    def _released(self, user: UserSession, rec: AppRecord) -> None:
        """The app server released this session (``ownership_release``) and closed it: no
        grace, no resurrection; the app ends without a stop webhook."""
        logger.info("%s: released (%s), no grace", rec.session_id, rec.ownership_released)
        rec.set_state(AppState.STOPPING)
        rec.generation += 1
        rec.cancel_timers()
        rec.buffer.clear()
        self.core.running_apps.get(user.user_id, set()).discard(rec.package)
        self.core.registrations.remove_session(rec.session_id)
        rec.subscriptions = ()
        user.display.clear(rec.package)
        rec.set_state(AppState.DISCONNECTED)
        self.core.notify_state(user)

    def _grace_expired(self, user: UserSession, rec: AppRecord, gen: int) -> None:
        rec.grace_timer = None
        rec.grace_expires_at = None
        if rec.generation != gen or rec.state is not AppState.GRACE_PERIOD or rec.conn is not None:
            return
        rec.set_state(AppState.RESURRECTING)
        rec.generation += 1
        rec.resurrections += 1
        self.core.metrics.app_resurrections.inc()
        rec.stop_task = self.core.spawn(self._resurrect(user, rec, rec.generation),
                                        f"resurrect:{rec.session_id}")

    async def _resurrect(self, user: UserSession, rec: AppRecord, gen: int) -> None:
        """A5: stop procedure with restart (runningApps kept), then A1, same sessionId."""
        await self._send_stop_webhook(user, rec, StopReason.USER_DISABLED)
        if rec.generation != gen or rec.state is not AppState.RESURRECTING:
            return  # an init arrived (A2) or a stop began meanwhile
        rec.subscriptions = ()
        user.display.clear(rec.package)
        self._begin_start(user, rec)
        self.core.notify_state(user)

    # --- A6: stop ------------------------------------------------------------------------------

    def stop_app(self, user: UserSession, package: str, reason: StopReason) -> None:
        rec = user.apps.get(package)
        if rec is None or rec.state not in ACTIVE_APP_STATES or rec.builtin:
            return
        rec.set_state(AppState.STOPPING)
        rec.generation += 1
        rec.cancel_timers()
        rec.buffer.clear()
        if rec.start_task is not None:
            rec.start_task.cancel()
        self.core.running_apps.get(user.user_id, set()).discard(package)
        self.core.registrations.remove_session(rec.session_id)
        rec.stop_task = self.core.spawn(self._finish_stop(user, rec, reason),
                                        f"stop:{rec.session_id}")

    async def _finish_stop(self, user: UserSession, rec: AppRecord, reason: StopReason) -> None:
        await self._send_stop_webhook(user, rec, reason)
        rec.subscriptions = ()
        self.core.notify_state(user)
        conn = rec.conn
        if conn is not None:
            conn.send_text(wire.app_stopped(reason.value))
            conn.close(CloseCode.NORMAL, CloseReason.APP_STOPPED.value)
            self.detach(rec, conn)
        user.display.clear(rec.package)
        rec.dashboard_content = None
        rec.set_state(AppState.DISCONNECTED)
        if rec.start_after_stop:
            rec.start_after_stop = False
            if user.state is not None and user.disposed.is_set() is False:
                self.start_app(user, rec.package)

    async def _send_stop_webhook(
        self, user: UserSession, rec: AppRecord, reason: StopReason, *, dispose: bool = False
    ) -> None:
        if rec.entry is None:
            return
        body = wire.stop_request(rec.session_id, user.user_id, reason.value)
        url = webhook_url(rec.entry.public_url)
        if not dispose and self.core.defects.enabled("stop_webhook_unbounded"):
            # D4: upstream awaited the stop webhook of a stop, app switch or resurrection
            # with no timeout at all (its dispose sent none, D13, so that stays bounded).
            await self.core.webhooks.send_stop(url, body, timeout_s=0)
            return
        await self.core.webhooks.send_stop(url, body)

    # --- dispose ---------------------------------------------------------------------------

    async def dispose_app(self, user: UserSession, rec: AppRecord) -> None:
        """User-session dispose for one app: stop webhook ``system_stop``, ``app_stopped``
        and close 1000 "User session ended"; the app ends ``disconnected``."""
        if rec.state is AppState.STOPPING and rec.stop_task is not None:
            await rec.stop_task  # a user stop is already running; let it finish
        rec.cancel_timers()
        rec.buffer.clear()
        if rec.start_task is not None:
            rec.start_task.cancel()
        if rec.state in ACTIVE_APP_STATES:
            rec.set_state(AppState.STOPPING)
            rec.generation += 1
            self.core.registrations.remove_session(rec.session_id)
            if self.core.defects.enabled("dispose_without_stop_webhook"):
                # D13: upstream's dispose closed the app without the stop_request its
                # docs promise; a mid-2025 SDK then never calls onStop.
                logger.info("%s: dispose without stop webhook (D13)", rec.session_id)
            else:
                await self._send_stop_webhook(user, rec, StopReason.SYSTEM_STOP, dispose=True)
            conn = rec.conn
            if conn is not None:
                conn.send_text(wire.app_stopped(StopReason.SYSTEM_STOP.value))
                conn.close(CloseCode.NORMAL, CloseReason.USER_SESSION_ENDED.value)
                self.detach(rec, conn)
            rec.set_state(AppState.DISCONNECTED)
        for other in list(rec.sockets):
            other.close(CloseCode.NORMAL, CloseReason.USER_SESSION_ENDED.value)
        rec.sockets.clear()
        if rec.subscriptions and self.core.defects.enabled("leak_subscriptions_on_dispose"):
            # D9: upstream's dispose left the "<email>:<pkg>" subscription entry behind.
            self.core.leaked_subscriptions[(user.user_id, rec.package)] = rec.subscriptions
        rec.subscriptions = ()
        rec.dashboard_content = None

    # --- restart recovery (§7.3) -------------------------------------------------------------

    async def recover(
        self, session_id: str, package: str, url: str, ws_url: str | None
    ) -> bool:
        """Send ``session_request`` with the same sessionId for one active session; True if
        the webhook was delivered. No stop_request; the app stays in runningApps. The
        registration knows the package, so the id is split by §8 rule 1."""
        try:
            if self.core.defects.enabled("split_session_id"):
                # D1: the TPA-era registration path took split('-')[0] / [1] as user and
                # package: a '-' in either finds no session to recover.
                user_id, package = legacy_split(session_id)
            else:
                user_id = user_for_package(session_id, package)
        except InvalidSessionId:
            return False
        found = self.core.find_app(user_id, package)
        if found is None:
            return False
        user, rec = found
        if rec.state not in (AppState.RUNNING, AppState.GRACE_PERIOD, AppState.RESURRECTING):
            return False
        body = self._session_request(user, rec, ws_url or self.core.app_ws_url)
        gen = rec.generation
        if rec.start_timer is not None:
            rec.start_timer.cancel()
        rec.start_timer = self.core.later(
            self.core.timings.scaled("app_start_timeout_s"),
            lambda: self._recovery_timeout(rec, gen),
        )
        try:
            await self.core.webhooks.send_start(url, body)
        except WebhookError as exc:
            logger.info("%s: recovery webhook failed: %s", session_id, exc)
            return False
        return True

    def _recovery_timeout(self, rec: AppRecord, gen: int) -> None:
        rec.start_timer = None
        if rec.generation == gen:
            logger.info("%s: no init within the start timeout after recovery", rec.session_id)
            self.core.metrics.app_start_failures.labels(stage="RECOVERY_TIMEOUT").inc()
