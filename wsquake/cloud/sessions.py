"""User sessions (PROTOCOL.md §9.2): glasses attach/replace/loss, reconnect grace and
dispose. Socket identity: only the *current* glasses socket's loss changes state."""

from __future__ import annotations

import asyncio
import logging

from wsquake.cloud import wire
from wsquake.cloud.apps import AppManager
from wsquake.cloud.core import CloudCore
from wsquake.cloud.display import DisplayManager, DisplayOutcome
from wsquake.cloud.model import Transcriber, UserSession
from wsquake.cloud.transport import Connection
from wsquake.protocol.codes import CloseCode, CloseReason, GlassesErrorCode
from wsquake.protocol.lifecycle import SessionState

__all__ = ["SessionManager"]

logger = logging.getLogger(__name__)


class SessionManager:
    def __init__(self, core: CloudCore, apps: AppManager) -> None:
        self.core = core
        self.apps = apps

    def _new_session(self, user_id: str) -> UserSession:
        core = self.core
        holder: list[UserSession] = []

        def send(event: dict[str, object]) -> bool:
            return bool(holder) and core.send_to_glasses(holder[0], wire.dumps(event))

        def count(outcome: DisplayOutcome) -> None:
            core.metrics.display_events.labels(outcome=outcome.value).inc()
            if outcome is DisplayOutcome.GLASSES_OFFLINE:
                core.metrics.messages_dropped.labels(reason="glasses_offline").inc()

        display = DisplayManager(
            throttle_s=core.timings.scaled("display_throttle_ms"),
            clock=core.clock,
            call_later=core.later,
            send=send,
            now_iso=wire.iso_now,
            count=count,
            duration_scale=core.timings.time_scale,
        )
        segment = int(core.timings.transcription_segment_ms * 32)
        user = UserSession(
            user_id=user_id,
            display=display,
            transcriber=Transcriber(segment_bytes=max(segment, 1)),
            created_at=core.wall(),
        )
        holder.append(user)
        return user

    async def attach_glasses(self, user_id: str, conn: Connection) -> UserSession:
        """A valid upgrade: create, re-attach (within grace) or replace; then ack."""
        user = self.core.users.get(user_id)
        while user is not None and user.state in (SessionState.DISCONNECTING, SessionState.ERROR):
            # A dispose is running: let it finish, then start a fresh session.
            await user.disposed.wait()
            user = self.core.users.get(user_id)
        created = user is None
        if user is None:
            user = self._new_session(user_id)
            user.set_state(SessionState.INITIALIZING)
            self.core.users[user_id] = user
            if self.core.defects.enabled("leak_subscriptions_on_dispose"):
                # D9: upstream's subscription map, keyed "<email>:<pkg>", outlived the
                # disposed session: relays, mic state and the ack follow the stale sets
                # until each app subscribes again.
                self.apps.restore_leaked_subscriptions(user)
        old = user.glasses
        conn.user_id = user_id
        user.glasses = conn
        user.glasses_sockets.add(conn)
        restart = True  # restart transcription, re-send the mic state and display
        if created:
            user.set_state(SessionState.CONNECTED)
        elif user.state is SessionState.CONNECTED:
            user.set_state(SessionState.CONNECTED)
            if old is not None and old is not conn:
                if self.core.defects.enabled("keep_old_glasses_socket"):
                    # D8: upstream replaced the session's socket reference but left the
                    # old socket open and attached; its late close still counts (below).
                    logger.info("%s: %r kept open beside %r (D8)", user_id, old, conn)
                else:
                    user.glasses_sockets.discard(old)
                    old.close(CloseCode.NORMAL, CloseReason.REPLACED.value)
                    self.core.metrics.superseded_sockets.labels(kind="glasses").inc()
        elif user.state is SessionState.CONNECTING:
            if user.grace_timer is not None:
                user.grace_timer.cancel()
                user.grace_timer = None
            user.disconnected_at = None
            user.set_state(SessionState.CONNECTED)
            # D7: upstream's reconnect path only re-acked: transcription waited for the
            # next VAD true, and the mic state and display were not re-sent.
            restart = not self.core.defects.enabled("glasses_reconnect_no_restart")
            if restart:
                user.transcription_active = True
        conn.send_text(self.core.connection_ack(user))
        user.display.set_online(True, resend=restart)
        if restart and not created and user.mic_sent_at is not None:
            self.core.update_mic(user, force=True)
        if created:
            self.apps.start_session_apps(user)
        logger.info("%s: glasses attached (%r, created=%s)", user_id, conn, created)
        return user

    def glasses_closed(self, conn: Connection) -> None:
        """A glasses socket is gone; only the current one's loss starts the grace."""
        if conn.user_id is None:
            return
        user = self.core.users.get(conn.user_id)
        if user is None:
            return
        attached = conn in user.glasses_sockets
        user.glasses_sockets.discard(conn)
        if user.glasses is not conn:
            if attached and self.core.defects.enabled("keep_old_glasses_socket"):
                # D8: upstream's close handler did not check which socket closed: the old
                # socket's late close stops transcription and sets disconnectedAt under
                # a live socket (the cleanup timer's OPEN check then spares the session).
                logger.info("%s: late close of kept %r (D8)", user.user_id, conn)
                user.transcription_active = False
                user.transcriber.reset()
                user.disconnected_at = self.core.wall()
            return
        user.glasses = None
        user.display.set_online(False)
        if user.state is not SessionState.CONNECTED or self.core.closing:
            return
        user.set_state(SessionState.CONNECTING)
        user.transcription_active = False
        user.transcriber.reset()
        user.disconnected_at = self.core.wall()
        grace = self.core.timings.scaled("glasses_grace_s")
        user.grace_timer = self.core.later(grace, lambda: self._grace_expired(user))
        logger.info("%s: glasses lost, grace %.3fs", user.user_id, grace)

    def _grace_expired(self, user: UserSession) -> None:
        user.grace_timer = None
        if user.state is SessionState.CONNECTING and user.glasses is None:
            user.set_state(SessionState.DISCONNECTING)
            self.core.spawn(self.dispose(user), f"dispose:{user.user_id}")

    def fail(self, user: UserSession, conn: Connection, exc: Exception) -> None:
        """An unexpected error while handling ``user``: ERROR, then dispose (§9.2)."""
        logger.error("%s: internal error, disposing the session", user.user_id, exc_info=exc)
        conn.send_text(wire.connection_error(GlassesErrorCode.INTERNAL_ERROR.value,
                                             "Internal error"))
        conn.close(CloseCode.POLICY_VIOLATION, "Internal error")
        if user.state in (SessionState.DISCONNECTING, SessionState.DISCONNECTED,
                          SessionState.ERROR):
            return
        user.set_state(SessionState.ERROR)
        if user.grace_timer is not None:
            user.grace_timer.cancel()
            user.grace_timer = None
        self.core.spawn(self.dispose(user), f"dispose:{user.user_id}")

    async def dispose(self, user: UserSession) -> None:
        """CONNECTING -> DISCONNECTING -> DISCONNECTED: stop every app, clean everything."""
        if user.state is not SessionState.DISCONNECTING:
            user.set_state(SessionState.DISCONNECTING)
        if user.grace_timer is not None:
            user.grace_timer.cancel()
            user.grace_timer = None
        try:
            async with asyncio.TaskGroup() as tg:
                for rec in list(user.apps.values()):
                    tg.create_task(self.apps.dispose_app(user, rec))
        finally:
            for rec in user.apps.values():
                self.core.registrations.remove_session(rec.session_id)
                rec.subscriptions = ()
            user.display.close()
            if user.mic_timer is not None:
                user.mic_timer.cancel()
                user.mic_timer = None
            for conn in list(user.glasses_sockets):
                conn.close(CloseCode.NORMAL, CloseReason.USER_SESSION_ENDED.value)
            user.glasses_sockets.clear()
            user.set_state(SessionState.DISCONNECTED)
            if self.core.users.get(user.user_id) is user:
                del self.core.users[user.user_id]
            user.disposed.set()
            logger.info("%s: user session disposed", user.user_id)

    def shutdown(self) -> None:
        """Server stopping: cancel every timer; sockets are closed by the server."""
        for user in list(self.core.users.values()):
            if user.grace_timer is not None:
                user.grace_timer.cancel()
            user.display.close()
            if user.mic_timer is not None:
                user.mic_timer.cancel()
            for rec in user.apps.values():
                rec.cancel_timers()
            user.disposed.set()
