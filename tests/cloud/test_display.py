"""Display forwarding and the main-view throttle (§9.5).

The boot card is off (``boot_card_ms=0``) so the app's requests go straight through.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.cloud.conftest import SCALE, Harness, running_app
from tests.cloud.peers import GlassesClient, Message

EMAIL = "alice@example.com"
PKG = "com.example.echo"


def _text(message: Message) -> str:
    return str(message["layout"].get("text"))


def _from_app(message: Message) -> bool:
    return message.get("packageName") == PKG and _text(message) != ""


async def _next_display(glasses: GlassesClient) -> tuple[Message, float]:
    message = await glasses.next_message("display_event", where=_from_app)
    return message, asyncio.get_running_loop().time()


async def test_display_event_is_forwarded_with_a_fresh_timestamp(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, boot_card_ms=0)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    sent = await sock.display("hello", duration_ms=None)
    sent["timestamp"] = "2000-01-01T00:00:00.000Z"  # what we compare against is not resent
    shown, _ = await _next_display(glasses)
    assert shown["packageName"] == PKG
    assert shown["view"] == "main"
    assert shown["layout"] == {"layoutType": "text_wall", "text": "hello"}
    assert isinstance(shown["timestamp"], str)
    assert not shown["timestamp"].startswith("2000")


async def test_other_layouts_are_forwarded_unchanged(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, boot_card_ms=0, display_throttle_ms=0)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    layout = {"layoutType": "double_text_wall", "topText": "top", "bottomText": "bottom"}
    await sock.display("", layout=layout)
    shown = await glasses.next_message(
        "display_event", where=lambda m: m["layout"].get("layoutType") == "double_text_wall"
    )
    assert shown["layout"] == layout


async def test_unknown_view_becomes_main(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, boot_card_ms=0)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.display("somewhere", view="sideways")
    shown, _ = await _next_display(glasses)
    assert shown["view"] == "main"


async def test_main_view_throttle_forwards_first_and_newest_only(harness: Harness) -> None:
    # Timeline (throttle 3000 ms protocol x 0.1 = 300 ms wall): t=0 "one" goes out at
    # once; "two" and "three" arrive within the window, only the newest ("three") is
    # kept and goes out ~300 ms after "one"; "two" never does.
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, boot_card_ms=0, display_throttle_ms=3000)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.display("one")
    await sock.display("two")
    await sock.display("three")
    first, t_first = await _next_display(glasses)
    second, t_second = await _next_display(glasses)
    assert [_text(first), _text(second)] == ["one", "three"]
    throttle = 3000 / 1000 * SCALE
    assert t_second - t_first >= throttle * 0.8, (t_first, t_second)
    # Window: two more throttle periods; a held "two" would have been sent by then.
    await glasses.expect_silence("display_event", 2 * throttle, where=_from_app)


async def test_dashboard_view_is_not_throttled(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    # Throttle 100 s protocol = 10 s wall: anything throttled would miss the test's waits.
    cloud = await harness.cloud(app, boot_card_ms=0, display_throttle_ms=100_000)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    for n in range(3):
        await sock.display(f"dash-{n}", view="dashboard")
    texts = []
    for _ in range(3):
        shown = await glasses.next_message(
            "display_event", where=lambda m: m.get("view") == "dashboard", timeout=3
        )
        texts.append(_text(shown))
    assert texts == ["dash-0", "dash-1", "dash-2"]


async def test_throttle_is_per_gap_not_per_burst(harness: Harness) -> None:
    # Timeline (throttle 300 ms wall): "a" at t=0 goes out; after it is seen we wait out
    # one throttle period on the glasses side by awaiting "b"'s delivery, which must not
    # come earlier than 300 ms after "a".
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, boot_card_ms=0, display_throttle_ms=3000)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.display("a")
    _, t_a = await _next_display(glasses)
    await sock.display("b")
    shown, t_b = await _next_display(glasses)
    assert _text(shown) == "b"
    assert t_b - t_a >= 0.3 * 0.8


async def test_display_while_glasses_offline_is_dropped_and_counted(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    # Glasses grace 600 s protocol = 60 s wall: the session outlives the test.
    cloud = await harness.cloud(app, boot_card_ms=0, glasses_grace_s=600)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.close()
    await harness.until(
        lambda: _glasses_state(harness, cloud, "CONNECTING"), what="glasses CONNECTING"
    )
    await sock.display("into the void")
    await harness.until(
        lambda: harness.metric(
            cloud, "wsquake_cloud_messages_dropped_total", reason="glasses_offline"
        ),
        what="messages_dropped_total{reason=glasses_offline} > 0",
    )


async def _glasses_state(harness: Harness, cloud: Any, state: str) -> bool:
    user = await harness.user(cloud, EMAIL)
    return user is not None and user["state"] == state


async def test_display_events_are_counted(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, boot_card_ms=0)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.display("count me")
    await _next_display(glasses)
    assert await harness.metric(cloud, "wsquake_cloud_display_events_total") >= 1


async def test_duration_expiry_clears_the_view(harness: Harness) -> None:
    # durationMs is the app's request (wall time, not scaled by time_scale here): after
    # 200 ms the cloud sends text_wall "" with durationMs 0.
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, boot_card_ms=0)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.display("brief", duration_ms=200)
    await _next_display(glasses)
    clear = await glasses.next_message(
        "display_event", where=lambda m: m["layout"].get("text") == "", timeout=5
    )
    assert clear["layout"]["layoutType"] == "text_wall"
    assert clear.get("durationMs") == 0


async def test_stopping_the_app_that_owns_the_view_clears_it(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, boot_card_ms=0)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.display("mine")
    await _next_display(glasses)
    await glasses.stop_app(PKG)
    clear = await glasses.next_message(
        "display_event", where=lambda m: m["layout"].get("text") == ""
    )
    assert clear["layout"]["layoutType"] == "text_wall"


async def test_current_view_is_resent_after_glasses_reconnect(harness: Harness) -> None:
    # D7 off: a glasses reconnect within grace re-sends the current display.
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, boot_card_ms=0, glasses_grace_s=600)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.display("persistent")
    await _next_display(glasses)
    await glasses.close()
    again = await harness.glasses(cloud, EMAIL)
    shown = await again.next_message(
        "display_event", where=lambda m: m["layout"].get("text") == "persistent"
    )
    assert shown["packageName"] == PKG


async def test_boot_card_is_shown_then_queued_display_follows(harness: Harness) -> None:
    # Timeline: boot card 1500 ms protocol = 150 ms wall from the start. The app's display
    # made during it is queued and goes out after the card.
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, boot_card_ms=1500)
    glasses = await harness.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    card = await glasses.next_message(
        "display_event", where=lambda m: m["layout"].get("layoutType") == "reference_card"
    )
    assert card["layout"]["title"] == "// MentraOS - Starting App"
    t_card = asyncio.get_running_loop().time()
    sock = await app.next_socket()
    await sock.display("after-boot")
    shown, t_shown = await _next_display(glasses)
    assert _text(shown) == "after-boot"
    assert t_shown - t_card >= 1.5 * SCALE * 0.5
