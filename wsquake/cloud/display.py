"""Display requests towards one user's glasses (PROTOCOL.md §9.5).

``main``-view sends are limited to one per ``display_throttle_ms``; while a request is
held only the newest per app is kept, and held requests go out oldest app first, one per
window. ``dashboard``-view requests and the ``system_dashboard`` app are exempt. Display
events while the glasses are offline are dropped and counted; the current main view is
re-sent after a reconnect. The manager is sans-I/O apart from a timer it arms through
the injected ``call_later``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["DisplayManager", "DisplayOutcome"]

logger = logging.getLogger(__name__)


class DisplayOutcome(enum.Enum):
    SENT = "sent"
    THROTTLED = "throttled"  # held for the next window
    REPLACED = "replaced"  # a held request of the same app was overwritten (dropped)
    GLASSES_OFFLINE = "glasses_offline"
    CLEARED = "cleared"  # a clearing text_wall the cloud sent
    BOOT_QUEUED = "boot_queued"  # held while the app's boot card shows
    BOOT_CARD = "boot_card"  # the cloud's "starting app" card

BOOT_TITLE = "// MentraOS - Starting App"


CallLater = Callable[[float, Callable[[], None]], asyncio.TimerHandle]


def clear_event(package: str, timestamp: str) -> dict[str, Any]:
    return {
        "type": "display_event",
        "packageName": package,
        "view": "main",
        "layout": {"layoutType": "text_wall", "text": ""},
        "durationMs": 0,
        "timestamp": timestamp,
    }


class DisplayManager:
    def __init__(
        self,
        *,
        throttle_s: float,
        clock: Callable[[], float],
        call_later: CallLater,
        send: Callable[[dict[str, Any]], bool],
        now_iso: Callable[[], str],
        count: Callable[[DisplayOutcome], None],
        duration_scale: float = 1.0,
    ) -> None:
        self._throttle_s = throttle_s
        self._clock = clock
        self._call_later = call_later
        self._send = send
        self._now_iso = now_iso
        self._count = count
        self._duration_scale = duration_scale
        self._last_main: float | None = None
        self._held: dict[str, dict[str, Any]] = {}  # package -> newest request (insertion order)
        self._flush_timer: asyncio.TimerHandle | None = None
        self._expiry_timer: asyncio.TimerHandle | None = None
        self.current: dict[str, Any] | None = None  # the main view on the glasses
        self.online = False
        # package -> (boot timer, display requests queued meanwhile)
        self._booting: dict[str, tuple[asyncio.TimerHandle, list[dict[str, Any]]]] = {}

    def close(self) -> None:
        """Cancel timers and forget everything (user session disposed)."""
        for timer in (self._flush_timer, self._expiry_timer):
            if timer is not None:
                timer.cancel()
        for boot_timer, _ in self._booting.values():
            boot_timer.cancel()
        self._booting.clear()
        self._flush_timer = self._expiry_timer = None
        self._held.clear()
        self.current = None

    def request(self, package: str, event: dict[str, Any], *, exempt: bool) -> DisplayOutcome:
        """An app's display_event (already validated); returns what happened to it."""
        event = {**event, "packageName": package, "timestamp": self._now_iso()}
        view = event.get("view")
        if view not in ("main", "dashboard"):
            event["view"] = view = "main"
        if package in self._booting:
            self._booting[package][1].append(event)
            self._count(DisplayOutcome.BOOT_QUEUED)
            return DisplayOutcome.BOOT_QUEUED
        if not self.online:
            self._count(DisplayOutcome.GLASSES_OFFLINE)
            return DisplayOutcome.GLASSES_OFFLINE
        if view == "dashboard" or exempt:
            self._emit(event, main=view == "main", throttled=False)
            return DisplayOutcome.SENT
        now = self._clock()
        window_open = self._last_main is None or now - self._last_main >= self._throttle_s
        if not self._held and window_open:
            self._emit(event, main=True, throttled=True)
            return DisplayOutcome.SENT
        outcome = DisplayOutcome.REPLACED if package in self._held else DisplayOutcome.THROTTLED
        if package in self._held:
            self._count(DisplayOutcome.REPLACED)
        self._held[package] = event
        self._arm_flush()
        if outcome is DisplayOutcome.THROTTLED:
            self._count(DisplayOutcome.THROTTLED)
        return outcome

    def _emit(self, event: dict[str, Any], *, main: bool, throttled: bool) -> None:
        if throttled:
            self._last_main = self._clock()
        if self._send(event):
            self._count(DisplayOutcome.SENT)
        if main:
            self.current = event
            self._arm_expiry(event)

    def _arm_flush(self) -> None:
        if self._flush_timer is not None or not self._held:
            return
        assert self._last_main is not None
        delay = max(0.0, self._last_main + self._throttle_s - self._clock())
        self._flush_timer = self._call_later(delay, self._flush)

    def _flush(self) -> None:
        self._flush_timer = None
        if not self._held:
            return
        if not self.online:
            for _ in self._held:
                self._count(DisplayOutcome.GLASSES_OFFLINE)
            self._held.clear()
            return
        package = next(iter(self._held))
        event = self._held.pop(package)
        event["timestamp"] = self._now_iso()
        self._emit(event, main=True, throttled=True)
        self._arm_flush()

    def _arm_expiry(self, event: dict[str, Any]) -> None:
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
            self._expiry_timer = None
        duration = event.get("durationMs")
        if isinstance(duration, (int, float)) and not isinstance(duration, bool) and duration > 0:
            package = str(event.get("packageName", ""))
            self._expiry_timer = self._call_later(
                duration / 1000.0 * self._duration_scale, lambda: self.clear(package)
            )

    def boot(self, package: str, name: str, duration_s: float) -> None:
        """Show the boot card for ``duration_s``; the app's requests meanwhile are queued
        and go out (through the throttle) when it ends."""
        if duration_s <= 0:
            return
        previous = self._booting.pop(package, None)
        if previous is not None:
            previous[0].cancel()
        timer = self._call_later(duration_s, lambda: self._boot_done(package))
        self._booting[package] = (timer, previous[1] if previous is not None else [])
        if self.online:
            card = {
                "type": "display_event",
                "packageName": package,
                "view": "main",
                "layout": {"layoutType": "reference_card", "title": BOOT_TITLE, "text": name},
                "timestamp": self._now_iso(),
            }
            self._emit(card, main=True, throttled=True)
            self._count(DisplayOutcome.BOOT_CARD)

    def _boot_done(self, package: str) -> None:
        entry = self._booting.pop(package, None)
        if entry is None:
            return
        queued = entry[1]
        if queued:
            for event in queued:
                self.request(package, event, exempt=False)
        elif self._is_boot_card(package):
            self.clear(package)

    def _is_boot_card(self, package: str) -> bool:
        current = self.current
        return (
            current is not None
            and current.get("packageName") == package
            and current.get("layout", {}).get("title") == BOOT_TITLE
        )

    def clear(self, package: str) -> None:
        """Clear the main view if ``package`` owns it; drop its held and boot-queued
        requests and its boot card."""
        self._held.pop(package, None)
        boot = self._booting.pop(package, None)
        if boot is not None:
            boot[0].cancel()
        if self.current is None or self.current.get("packageName") != package:
            return
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
            self._expiry_timer = None
        self.current = None
        if self.online and self._send(clear_event(package, self._now_iso())):
            self._count(DisplayOutcome.CLEARED)

    def set_online(self, online: bool, *, resend: bool = True) -> None:
        """Glasses attached/detached; on attach re-send the current main view (unless
        ``resend`` is False)."""
        self.online = online
        if online and resend and self.current is not None:
            event = {**self.current, "timestamp": self._now_iso()}
            self._send(event)
