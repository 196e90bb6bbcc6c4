"""Shared state and services of one running cloud, and the helpers every manager uses:
owned task spawning, cancellable timers, the ``userSession`` view and ``app_state_change``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from wsquake.cloud import wire
from wsquake.cloud.metrics import CloudMetrics
from wsquake.cloud.model import AppRecord, UserSession
from wsquake.cloud.registrations import RegistrationStore
from wsquake.cloud.registry import AppRegistry
from wsquake.cloud.settings import CloudSettings
from wsquake.cloud.transport import Connection
from wsquake.cloud.webhooks import WebhookClient
from wsquake.protocol.glasses import UserSessionInfo
from wsquake.protocol.lifecycle import AppState
from wsquake.protocol.streams import StreamType, Subscription, transcription_languages

__all__ = ["CloudCore"]

logger = logging.getLogger(__name__)


class CloudCore:
    def __init__(
        self,
        settings: CloudSettings,
        *,
        metrics: CloudMetrics,
        webhooks: WebhookClient,
        task_group: asyncio.TaskGroup,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.timings = settings.timings
        self.defects = settings.defects  # PROTOCOL.md §12; branches: defects.enabled(name)
        self.metrics = metrics
        self.webhooks = webhooks
        self.registry = AppRegistry(settings.apps)
        self.registrations = RegistrationStore(clock=clock, wall=wall)
        self.clock = clock
        self.wall = wall
        self.users: dict[str, UserSession] = {}
        self.running_apps: dict[str, set[str]] = {}  # persisted runningApps per user
        self.connections: set[Connection] = set()  # every open socket
        # D9 only: subscription sets a disposed session left behind, by (email, package)
        self.leaked_subscriptions: dict[tuple[str, str], tuple[Subscription, ...]] = {}
        self.app_ws_url = ""  # set by the server once the port is known
        self.closing = False
        self._tg = task_group
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- task ownership -------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Run ``coro`` in the server's TaskGroup; errors are logged, never kill the server."""

        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("task %s failed", name)

        if self.closing:
            coro.close()
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done  # type: ignore[return-value]
        task = self._tg.create_task(guarded(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def later(self, delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        """A cancellable timer; the owner cancels it on dispose/shutdown."""
        return asyncio.get_running_loop().call_later(delay, self._guard(callback))

    @staticmethod
    def _guard(callback: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                callback()
            except Exception:
                logger.exception("timer callback failed")

        return run

    def cancel_all_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    # --- views ----------------------------------------------------------------------------

    def user_session_info(self, user: UserSession) -> UserSessionInfo:
        """The ``userSession`` object of ``connection_ack`` / ``app_state_change`` (§3.2)."""
        active = [
            r.package for r in user.apps.values() if r.state is AppState.RUNNING and not r.builtin
        ]
        loading = [
            r.package
            for r in user.apps.values()
            if r.state in (AppState.LOADING, AppState.RESURRECTING)
        ]
        subs = {
            r.package: tuple(s.to_wire() for s in r.subscriptions)
            for r in user.apps.values()
            if r.subscriptions
        }
        loading_apps: tuple[str, ...] | dict[str, Any] = tuple(loading)
        if self.defects.enabled("loading_apps_as_object"):
            # D11: upstream kept loadingApps in a Set, which JSON.stringify turns into {}.
            loading_apps = {}
        return UserSessionInfo(
            user_id=user.user_id,
            start_time=wire.iso_from_epoch(user.created_at),
            active_app_sessions=tuple(active),
            loading_apps=loading_apps,
            app_subscriptions=subs,
            requires_audio=self.requires_audio(user),
            minimum_transcription_languages=tuple(sorted(self.languages(user))),
            is_transcribing=self.is_transcribing(user),
        )

    @staticmethod
    def all_subscriptions(user: UserSession) -> list[Any]:
        return [s for r in user.apps.values() for s in r.subscriptions]

    def languages(self, user: UserSession) -> frozenset[str]:
        return transcription_languages(self.all_subscriptions(user))

    def requires_audio(self, user: UserSession) -> bool:
        return any(
            s.base in (StreamType.AUDIO_CHUNK, StreamType.TRANSCRIPTION, StreamType.TRANSLATION)
            for s in self.all_subscriptions(user)
        )

    def is_transcribing(self, user: UserSession) -> bool:
        return (
            user.glasses is not None
            and user.transcription_active
            and bool(self.languages(user))
        )

    def send_to_glasses(self, user: UserSession, text: str) -> bool:
        if user.glasses is None:
            return False
        return user.glasses.send_text(text)

    def notify_state(self, user: UserSession) -> None:
        """``app_state_change`` to the glasses (§5)."""
        if user.glasses is not None:
            self.send_to_glasses(
                user, wire.app_state_change(user.user_id, self.user_session_info(user))
            )
        self.update_mic(user)

    def update_mic(self, user: UserSession, *, force: bool = False) -> None:
        """``microphone_state_change`` (§5, optional): on when some app wants audio or
        transcription; the first change goes at once, later ones are debounced by
        ``mic_debounce_ms``; ``force`` re-sends the state (glasses reconnect)."""
        if user.glasses is None:
            return
        if force:
            user.mic_sent = None
        if self.requires_audio(user) == user.mic_sent or user.mic_timer is not None:
            return
        debounce = self.timings.scaled("mic_debounce_ms")
        now = self.clock()
        if user.mic_sent_at is None or force or now - user.mic_sent_at >= debounce:
            self._send_mic(user)
            return
        user.mic_timer = self.later(user.mic_sent_at + debounce - now, lambda: self._mic_due(user))

    def _mic_due(self, user: UserSession) -> None:
        user.mic_timer = None
        if user.glasses is not None and self.requires_audio(user) != user.mic_sent:
            self._send_mic(user)

    def _send_mic(self, user: UserSession) -> None:
        enabled = self.requires_audio(user)
        subs = self.all_subscriptions(user)
        required: list[str] = []
        if any(s.base is StreamType.AUDIO_CHUNK for s in subs):
            required.append("pcm")
        if any(s.base in (StreamType.TRANSCRIPTION, StreamType.TRANSLATION) for s in subs):
            required.append("transcription")
        if self.send_to_glasses(
            user,
            wire.microphone_state_change(
                user.user_id, self.user_session_info(user), enabled, tuple(required)
            ),
        ):
            user.mic_sent = enabled
            user.mic_sent_at = self.clock()

    def connection_ack(self, user: UserSession) -> str:
        return wire.connection_ack(user.user_id, self.user_session_info(user))

    def find_app(self, user_id: str, package: str) -> tuple[UserSession, AppRecord] | None:
        user = self.users.get(user_id)
        if user is None:
            return None
        rec = user.apps.get(package)
        return None if rec is None else (user, rec)
