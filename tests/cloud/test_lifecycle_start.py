"""Start timeout, webhook retries, bounded stop webhook, system apps (§7.2, §9.3)."""

from __future__ import annotations

from typing import Any

from tests.cloud.conftest import QUIET, SCALE, Harness, running_app
from tests.cloud.peers import WebhookMode

EMAIL = "alice@example.com"
PKG = "com.example.echo"
SID = f"{EMAIL}-{PKG}"


def _not_loading(message: dict[str, object]) -> bool:
    session = message["userSession"]
    assert isinstance(session, dict)
    return PKG not in session["loadingApps"] and PKG not in session["activeAppSessions"]


async def test_start_timeout_marks_app_disconnected(harness: Harness) -> None:
    # Timeline: start timeout 5 s protocol = 0.5 s wall, armed before the POST. The
    # webhook is held (never answered in time), so at ~0.5 s the app leaves loadingApps.
    app = await harness.app_server(PKG, mode=WebhookMode.HOLD)
    cloud = await harness.cloud(app, app_start_timeout_s=5, webhook_timeout_s=100)
    glasses = await harness.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    await glasses.next_message(
        "app_state_change", where=lambda m: PKG in m["userSession"]["loadingApps"]
    )
    await glasses.next_message("app_state_change", where=_not_loading)
    view = await harness.app_view(cloud, EMAIL, PKG)
    assert view["state"] == "disconnected"
    assert (
        await harness.metric(cloud, "wsquake_cloud_app_start_failures_total", stage="TIMEOUT")
        == 1
    )


async def test_init_after_start_timeout_gets_app_not_started(harness: Harness) -> None:
    app = await harness.app_server(PKG, mode=WebhookMode.HOLD)
    cloud = await harness.cloud(app, app_start_timeout_s=5, webhook_timeout_s=100)
    glasses = await harness.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    await app.next_webhook("session_request")
    await glasses.next_message("app_state_change", where=_not_loading)
    app.release.set()  # the webhook now succeeds, too late
    late = await harness.app_socket(cloud)
    await late.send_init(SID, PKG, app.api_key)
    error = await late.next_message("tpa_connection_error")
    assert error["code"] == "APP_NOT_STARTED"
    assert (await late.wait_closed()).code == 1008


async def test_start_webhook_is_retried_with_backoff(harness: Harness) -> None:
    # Timeline: attempt 1 gets 500 at t0; the cloud waits webhook_backoff_s (1 s protocol
    # = 0.1 s wall) and posts attempt 2, which also fails: stage WEBHOOK.
    app = await harness.app_server(PKG, mode=WebhookMode.FAIL)
    cloud = await harness.cloud(app, app_start_timeout_s=100)
    glasses = await harness.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    first = await app.next_webhook("session_request")
    second = await app.next_webhook("session_request")
    assert second.body["sessionId"] == first.body["sessionId"] == SID
    assert second.at - first.at >= 1 * SCALE * 0.8
    await glasses.next_message("app_state_change", where=_not_loading)
    # Window: 10 backoffs; a third attempt (webhook_attempts = 2) would come in it.
    await app.expect_no_webhook("session_request", 10 * SCALE)
    assert (
        await harness.metric(cloud, "wsquake_cloud_app_start_failures_total", stage="WEBHOOK")
        == 1
    )
    assert (
        await harness.metric(
            cloud, "wsquake_cloud_webhook_requests_total", type="session_request"
        )
        == 2
    )


async def test_retry_after_failed_first_attempt_can_succeed(harness: Harness) -> None:
    app = await harness.app_server(PKG, mode=WebhookMode.FAIL)
    cloud = await harness.cloud(app, app_start_timeout_s=100)
    glasses = await harness.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    await app.next_webhook("session_request")
    app.mode = WebhookMode.SDK  # the retry (0.1 s later) finds a working app
    sock = await app.next_socket()
    await glasses.next_message(
        "app_state_change", where=lambda m: PKG in m["userSession"]["activeAppSessions"]
    )
    await glasses.press_button("second-try")
    assert (await sock.next_message("data_stream"))["data"]["buttonId"] == "second-try"


async def test_stop_webhook_is_bounded(harness: Harness) -> None:
    # Timeline: stop webhook timeout 5 s protocol = 0.5 s wall. The app server holds the
    # stop_request forever; the stop procedure still ends with app_stopped and 1000.
    app = await harness.app_server(PKG, stop_mode=WebhookMode.HOLD)
    cloud = await harness.cloud(app, stop_webhook_timeout_s=5)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.stop_app(PKG)
    hook = await app.next_webhook("stop_request")
    await sock.next_message("app_stopped", timeout=5)
    close = await sock.wait_closed()
    assert (close.code, close.reason) == (1000, "App stopped")
    assert not hook.answered.is_set()


async def test_system_dashboard_app_starts_on_every_new_session(harness: Harness) -> None:
    dash = await harness.app_server("com.example.dashboard", mode=WebhookMode.SDK)
    cloud = await harness.cloud(
        dash, types={"com.example.dashboard": "system_dashboard"}, glasses_grace_s=5
    )
    glasses = await harness.glasses(cloud, EMAIL)
    hook = await dash.next_webhook("session_request")
    assert hook.body["sessionId"] == f"{EMAIL}-com.example.dashboard"
    sock = await dash.next_socket()
    # Dispose, then a new session: the dashboard starts again.
    await glasses.close()
    await sock.wait_closed()
    await harness.until(
        lambda: _no_users(harness, cloud), what="session disposed", timeout=10
    )
    await harness.glasses(cloud, EMAIL)
    again = await dash.next_webhook("session_request")
    assert again.body["sessionId"] == f"{EMAIL}-com.example.dashboard"


async def _no_users(harness: Harness, cloud: Any) -> bool:
    return bool((await harness.sessions(cloud))["users"] == [])


async def test_system_dashboard_does_not_count_as_foreground(harness: Harness) -> None:
    dash = await harness.app_server("com.example.dashboard")
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(dash, app, types={"com.example.dashboard": "system_dashboard"})
    glasses = await harness.glasses(cloud, EMAIL)
    dash_sock = await dash.next_socket()
    await running_app(harness, glasses, app)
    await dash.expect_no_webhook("stop_request", QUIET)
    assert not dash_sock.is_closed


async def test_webhook_latency_is_recorded(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    await running_app(harness, glasses, app)
    count = await harness.metric(
        cloud, "wsquake_cloud_webhook_latency_seconds_count", type="session_request"
    )
    assert count == 1
