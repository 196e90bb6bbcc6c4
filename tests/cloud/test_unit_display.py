"""DisplayManager (§9.5) with an injected clock and timer: no I/O, no sleeps.

Timeline unit: the throttle window is 0.3 s of fake time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wsquake.cloud.display import DisplayManager, DisplayOutcome

THROTTLE = 0.3


class FakeTimers:
    def __init__(self) -> None:
        self.now = 0.0
        self.pending: list[tuple[float, Callable[[], None], FakeHandle]] = []

    def clock(self) -> float:
        return self.now

    def call_later(self, delay: float, fn: Callable[[], None]) -> FakeHandle:
        handle = FakeHandle()
        self.pending.append((self.now + delay, fn, handle))
        return handle

    def advance(self, seconds: float) -> None:
        target = self.now + seconds
        while True:
            due = [p for p in self.pending if p[0] <= target and not p[2].cancelled]
            if not due:
                break
            first = min(due, key=lambda p: p[0])
            self.pending.remove(first)
            self.now = first[0]
            first[1]()
        self.now = target


class FakeHandle:
    cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def make(online: bool = True) -> tuple[DisplayManager, FakeTimers, list[dict[str, Any]],
                                         list[DisplayOutcome]]:
    timers = FakeTimers()
    sent: list[dict[str, Any]] = []
    counted: list[DisplayOutcome] = []

    def send(event: dict[str, Any]) -> bool:
        sent.append(event)
        return True

    manager = DisplayManager(
        throttle_s=THROTTLE,
        clock=timers.clock,
        call_later=timers.call_later,  # type: ignore[arg-type]
        send=send,
        now_iso=lambda: f"t={timers.now:.2f}",
        count=counted.append,
    )
    manager.set_online(online)
    return manager, timers, sent, counted


def wall(text: str, view: str = "main", **extra: Any) -> dict[str, Any]:
    return {"type": "display_event", "view": view,
            "layout": {"layoutType": "text_wall", "text": text}, **extra}


def texts(sent: list[dict[str, Any]]) -> list[str]:
    return [e["layout"]["text"] for e in sent]


def test_first_main_request_is_sent_at_once_with_fresh_timestamp_and_package() -> None:
    manager, _, sent, _ = make()
    assert manager.request("app.a", wall("one", packageName="spoofed"), exempt=False) \
        is DisplayOutcome.SENT
    assert sent[0]["packageName"] == "app.a"
    assert sent[0]["timestamp"] == "t=0.00"


def test_second_request_inside_the_window_is_held_until_the_window_ends() -> None:
    manager, timers, sent, _ = make()
    manager.request("app.a", wall("one"), exempt=False)
    timers.advance(0.1)
    assert manager.request("app.a", wall("two"), exempt=False) is DisplayOutcome.THROTTLED
    assert texts(sent) == ["one"]
    timers.advance(0.19)
    assert texts(sent) == ["one"]
    timers.advance(0.02)  # t = 0.31 > 0.3
    assert texts(sent) == ["one", "two"]


def test_only_the_newest_held_request_per_app_is_kept() -> None:
    manager, timers, sent, counted = make()
    manager.request("app.a", wall("one"), exempt=False)
    manager.request("app.a", wall("two"), exempt=False)
    assert manager.request("app.a", wall("three"), exempt=False) is DisplayOutcome.REPLACED
    timers.advance(1.0)
    assert texts(sent) == ["one", "three"]
    assert DisplayOutcome.REPLACED in counted


def test_held_requests_of_two_apps_go_out_one_per_window() -> None:
    manager, timers, sent, _ = make()
    manager.request("app.a", wall("a1"), exempt=False)
    manager.request("app.a", wall("a2"), exempt=False)
    manager.request("app.b", wall("b1"), exempt=False)
    timers.advance(0.31)
    assert texts(sent) == ["a1", "a2"]
    timers.advance(0.31)
    assert texts(sent) == ["a1", "a2", "b1"]


def test_dashboard_view_is_exempt_from_the_throttle() -> None:
    manager, _, sent, _ = make()
    manager.request("app.a", wall("one"), exempt=False)
    assert manager.request("app.a", wall("dash", view="dashboard"), exempt=False) \
        is DisplayOutcome.SENT
    assert texts(sent) == ["one", "dash"]


def test_system_dashboard_app_is_exempt_from_the_throttle() -> None:
    manager, _, sent, _ = make()
    manager.request("app.a", wall("one"), exempt=False)
    assert manager.request("dash.app", wall("d"), exempt=True) is DisplayOutcome.SENT
    assert texts(sent) == ["one", "d"]


def test_unknown_view_becomes_main() -> None:
    manager, _, sent, _ = make()
    manager.request("app.a", wall("one", view="sideways"), exempt=False)
    assert sent[0]["view"] == "main"


def test_offline_glasses_drop_and_count() -> None:
    manager, _, sent, counted = make(online=False)
    assert manager.request("app.a", wall("one"), exempt=False) is DisplayOutcome.GLASSES_OFFLINE
    assert sent == []
    assert counted == [DisplayOutcome.GLASSES_OFFLINE]


def test_current_view_is_resent_on_reconnect() -> None:
    manager, timers, sent, _ = make()
    manager.request("app.a", wall("one"), exempt=False)
    manager.set_online(False)
    timers.advance(1.0)
    manager.set_online(True)
    assert texts(sent) == ["one", "one"]
    assert sent[1]["timestamp"] == "t=1.00"


def test_clear_by_the_owner_sends_an_empty_text_wall() -> None:
    manager, _, sent, _ = make()
    manager.request("app.a", wall("one"), exempt=False)
    manager.clear("app.b")  # not the owner: nothing
    assert len(sent) == 1
    manager.clear("app.a")
    assert sent[-1]["layout"] == {"layoutType": "text_wall", "text": ""}
    assert sent[-1]["durationMs"] == 0


def test_duration_expiry_clears_the_view() -> None:
    manager, timers, sent, _ = make()
    manager.request("app.a", wall("one", durationMs=500), exempt=False)
    timers.advance(0.49)
    assert len(sent) == 1
    timers.advance(0.02)
    assert texts(sent) == ["one", ""]


def test_close_cancels_the_pending_flush() -> None:
    manager, timers, sent, _ = make()
    manager.request("app.a", wall("one"), exempt=False)
    manager.request("app.a", wall("two"), exempt=False)
    manager.close()
    timers.advance(1.0)
    assert texts(sent) == ["one"]


def test_boot_card_is_shown_and_requests_meanwhile_are_queued() -> None:
    manager, timers, sent, _ = make()
    manager.boot("app.a", "Echo", 1.5)
    assert sent[0]["layout"] == {"layoutType": "reference_card",
                                 "title": "// MentraOS - Starting App", "text": "Echo"}
    assert manager.request("app.a", wall("one"), exempt=False) is DisplayOutcome.BOOT_QUEUED
    timers.advance(1.49)
    assert len(sent) == 1
    timers.advance(0.02)
    assert texts_after_card(sent) == ["one"]


def test_boot_card_is_cleared_when_the_app_showed_nothing() -> None:
    manager, timers, sent, _ = make()
    manager.boot("app.a", "Echo", 1.5)
    timers.advance(1.6)
    assert sent[-1]["layout"] == {"layoutType": "text_wall", "text": ""}


def test_boot_does_not_hold_other_apps() -> None:
    manager, timers, sent, _ = make()
    manager.boot("app.a", "Echo", 1.5)
    timers.advance(0.4)
    assert manager.request("app.b", wall("b"), exempt=False) is DisplayOutcome.SENT


def test_clear_cancels_the_boot_and_drops_its_queue() -> None:
    manager, timers, sent, _ = make()
    manager.boot("app.a", "Echo", 1.5)
    manager.request("app.a", wall("one"), exempt=False)
    manager.clear("app.a")  # e.g. the start failed
    timers.advance(2.0)
    assert texts_after_card(sent) == [""]


def texts_after_card(sent: list[dict[str, Any]]) -> list[str]:
    return [e["layout"].get("text") for e in sent[1:]]
