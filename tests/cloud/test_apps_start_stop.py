"""start_app → webhook → init → ack → running; stop_app → stop procedure (§7.1, §9.3)."""

from __future__ import annotations

import pytest

from tests.cloud.conftest import QUIET, SCALE, Harness, running_app
from tests.cloud.peers import WebhookMode


async def test_start_app_posts_session_request_with_app_ws_urls(harness: Harness) -> None:
    app = await harness.app_server("com.example.echo", mode=WebhookMode.ACCEPT)
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, "alice@example.com")
    await glasses.start_app("com.example.echo")
    hook = await app.next_webhook("session_request")
    body = hook.body
    assert body["sessionId"] == "alice@example.com-com.example.echo"
    assert body["userId"] == "alice@example.com"
    assert isinstance(body["timestamp"], str)
    expected_ws = f"ws://127.0.0.1:{cloud.port}/app-ws"
    assert body["mentraOSWebsocketUrl"] == expected_ws
    assert body["augmentOSWebsocketUrl"] == expected_ws


async def test_started_app_is_running_after_init(harness: Harness) -> None:
    app = await harness.app_server("com.example.echo")
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, "alice@example.com")
    await running_app(harness, glasses, app)
    view = await harness.app_view(cloud, "alice@example.com", "com.example.echo")
    assert view["state"] == "running"
    assert view["sessionId"] == "alice@example.com-com.example.echo"
    assert view["subscriptions"] == ["button_press"]


async def test_app_state_change_lists_running_app(harness: Harness) -> None:
    app = await harness.app_server("com.example.echo")
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, "alice@example.com")
    await glasses.start_app("com.example.echo")
    change = await glasses.next_message(
        "app_state_change",
        where=lambda m: "com.example.echo" in m["userSession"]["activeAppSessions"],
    )
    assert change["sessionId"] == "alice@example.com"
    assert "com.example.echo" not in change["userSession"]["loadingApps"]
    assert isinstance(change["userSession"]["loadingApps"], list)


async def test_tpa_connection_ack_carries_both_settings_fields(harness: Harness) -> None:
    app = await harness.app_server("com.example.echo", mode=WebhookMode.ACCEPT)
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, "alice@example.com")
    await glasses.start_app("com.example.echo")
    await app.next_webhook("session_request")
    sock = await harness.app_socket(cloud)
    ack = await sock.handshake("alice@example.com-com.example.echo", app.package_name, app.api_key)
    assert ack["sessionId"] == "alice@example.com-com.example.echo"
    assert isinstance(ack["settings"], list)
    assert isinstance(ack["mentraosSettings"], dict)
    assert ack["mentraosSettings"] == ack["augmentosSettings"]
    assert isinstance(ack["timestamp"], str)


async def test_tpa_ws_alias_accepts_init(harness: Harness) -> None:
    app = await harness.app_server("com.example.echo", mode=WebhookMode.ACCEPT)
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, "alice@example.com")
    await glasses.start_app("com.example.echo")
    await app.next_webhook("session_request")
    sock = await harness.app_socket(cloud, "/tpa-ws")
    ack = await sock.handshake("alice@example.com-com.example.echo", app.package_name, app.api_key)
    assert ack["type"] == "tpa_connection_ack"


async def test_start_app_while_loading_sends_one_webhook(harness: Harness) -> None:
    app = await harness.app_server("com.example.echo", mode=WebhookMode.HOLD)
    # Start timeout 50 s protocol = 5 s wall: the app stays loading for the whole test.
    cloud = await harness.cloud(app, app_start_timeout_s=50, webhook_timeout_s=100)
    glasses = await harness.glasses(cloud, "alice@example.com")
    await glasses.start_app("com.example.echo")
    await app.next_webhook("session_request")
    await glasses.start_app("com.example.echo")
    await glasses.start_app("com.example.echo")
    # Window QUIET: a duplicate start would post within milliseconds.
    await app.expect_no_webhook("session_request", QUIET)
    assert app.webhook_count("session_request") == 1


async def test_start_app_while_running_is_a_no_op(harness: Harness) -> None:
    app = await harness.app_server("com.example.echo")
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, "alice@example.com")
    sock = await running_app(harness, glasses, app)
    await glasses.start_app("com.example.echo")
    await app.expect_no_webhook("session_request", QUIET)
    assert not sock.is_closed
    view = await harness.app_view(cloud, "alice@example.com", "com.example.echo")
    assert view["state"] == "running"


async def test_stop_app_sends_stop_webhook_then_app_stopped_and_close_1000(
    harness: Harness,
) -> None:
    app = await harness.app_server("com.example.echo")
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, "alice@example.com")
    sock = await running_app(harness, glasses, app)
    await glasses.stop_app("com.example.echo")
    hook = await app.next_webhook("stop_request")
    assert hook.body["sessionId"] == "alice@example.com-com.example.echo"
    assert hook.body["userId"] == "alice@example.com"
    assert hook.body["reason"] == "user_disabled"
    stopped = await sock.next_message("app_stopped")
    assert stopped.get("reason") in {"user_disabled", "system_stop", "error"}
    close = await sock.wait_closed()
    assert (close.code, close.reason) == (1000, "App stopped")


async def test_stop_app_removes_subscriptions_and_running_state(harness: Harness) -> None:
    app = await harness.app_server("com.example.echo")
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, "alice@example.com")
    sock = await running_app(harness, glasses, app)
    await glasses.stop_app("com.example.echo")
    change = await glasses.next_message(
        "app_state_change",
        where=lambda m: "com.example.echo" not in m["userSession"]["activeAppSessions"],
    )
    assert "com.example.echo" not in change["userSession"]["appSubscriptions"]
    await sock.wait_closed()
    view = await harness.app_view(cloud, "alice@example.com", "com.example.echo")
    assert view["state"] == "disconnected"
    assert view["subscriptions"] == []
    # No relay to a stopped app.
    await glasses.press_button()
    await sock.expect_silence("data_stream", QUIET)


async def test_stopped_app_can_be_started_again(harness: Harness) -> None:
    app = await harness.app_server("com.example.echo")
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, "alice@example.com")
    first = await running_app(harness, glasses, app)
    await glasses.stop_app("com.example.echo")
    await first.wait_closed()
    second = await running_app(harness, glasses, app)
    await glasses.press_button("again")
    event = await second.next_message("data_stream")
    assert event["data"]["buttonId"] == "again"


async def test_stop_app_with_sdk_close_first_still_completes(harness: Harness) -> None:
    # The SDK closes its socket (no status) on stop_request before replying 200; the cloud
    # ignores closes while stopping and finishes the stop procedure.
    app = await harness.app_server("com.example.echo", stop_mode=WebhookMode.SDK)
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, "alice@example.com")
    await running_app(harness, glasses, app)
    await glasses.stop_app("com.example.echo")
    await app.next_webhook("stop_request")
    await glasses.next_message(
        "app_state_change",
        where=lambda m: "com.example.echo" not in m["userSession"]["activeAppSessions"],
    )
    # No resurrection: a close while stopping is not an A4 loss.
    await app.expect_no_webhook("session_request", 10 * SCALE)
    view = await harness.app_view(cloud, "alice@example.com", "com.example.echo")
    assert view["state"] == "disconnected"


@pytest.mark.parametrize(
    ("email", "package"),
    [
        ("anne-marie@ex-ample.com", "com.ex-ample.app"),
        ("anne-marie@ex-ample.com", "com.example.echo"),
        ("alice@example.com", "com.ex-ample.app"),
    ],
)
async def test_hyphenated_email_and_package_work_end_to_end(
    harness: Harness, email: str, package: str
) -> None:
    app = await harness.app_server(package)
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, email)
    ack = await glasses.next_message("connection_ack")
    assert ack["sessionId"] == email
    sock = await running_app(harness, glasses, app)
    assert sock.session_id == f"{email}-{package}"
    await glasses.press_button("hyphen")
    event = await sock.next_message("data_stream")
    assert event["sessionId"] == f"{email}-{package}"
    assert event["data"]["buttonId"] == "hyphen"
    await glasses.stop_app(package)
    close = await sock.wait_closed()
    assert (close.code, close.reason) == (1000, "App stopped")
    view = await harness.app_view(cloud, email, package)
    assert view["state"] == "disconnected"


async def test_background_app_runs_beside_a_standard_app(harness: Harness) -> None:
    one = await harness.app_server("com.example.one")
    two = await harness.app_server("com.example.two")
    cloud = await harness.cloud(one, two, types={"com.example.two": "background"})
    glasses = await harness.glasses(cloud, "alice@example.com")
    sock_one = await running_app(harness, glasses, one)
    sock_two = await running_app(harness, glasses, two)
    assert sock_one.session_id == "alice@example.com-com.example.one"
    assert sock_two.session_id == "alice@example.com-com.example.two"
    await one.expect_no_webhook("stop_request", QUIET)
    await glasses.press_button("both")
    assert (await sock_one.next_message("data_stream"))["data"]["buttonId"] == "both"
    assert (await sock_two.next_message("data_stream"))["data"]["buttonId"] == "both"


async def test_starting_a_second_standard_app_stops_the_first(harness: Harness) -> None:
    one = await harness.app_server("com.example.one")
    two = await harness.app_server("com.example.two")
    cloud = await harness.cloud(one, two)
    glasses = await harness.glasses(cloud, "alice@example.com")
    sock_one = await running_app(harness, glasses, one)
    await running_app(harness, glasses, two)
    hook = await one.next_webhook("stop_request")
    assert hook.body["sessionId"] == "alice@example.com-com.example.one"
    close = await sock_one.wait_closed()
    assert (close.code, close.reason) == (1000, "App stopped")
    assert (await harness.app_view(cloud, "alice@example.com", "com.example.two"))[
        "state"
    ] == "running"
