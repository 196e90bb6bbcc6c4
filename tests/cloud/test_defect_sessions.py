"""Known upstream defects D9 (subscriptions leak past dispose), D10 (connection_init reruns
a fresh session's starts), D11 (loadingApps as an object), D12 (the SDK's late 500 is
retried) and D13 (dispose without stop webhook), each with its switch on and the fixed
behaviour with it off (PROTOCOL.md §12). SCALE = 0.1: glasses grace 5 s = 0.5 s wall."""

from __future__ import annotations

from typing import Any

from tests.cloud.conftest import QUIET, SCALE, Harness, running_app
from tests.cloud.peers import AppServerPeer, GlassesClient, Message, WebhookMode
from wsquake.cloud.settings import Defects

FIXED = Defects(profile="fixed")
EMAIL = "alice@example.com"
PKG = "com.example.echo"
SID = f"{EMAIL}-{PKG}"


async def _no_users(harness: Harness, cloud: Any) -> bool:
    return bool((await harness.sessions(cloud))["users"] == [])


async def _app_state(harness: Harness, cloud: Any, state: str) -> dict[str, Any] | None:
    user = await harness.user(cloud, EMAIL)
    for app in (user or {}).get("apps", []):
        if app["packageName"] == PKG and app["state"] == state:
            return dict(app)
    return None


# --- D9 leak_subscriptions_on_dispose -------------------------------------------------------


async def _dispose_then_reconnect(
    harness: Harness, defects: Defects
) -> tuple[Any, AppServerPeer, dict[str, Any], GlassesClient]:
    """An audio app runs; the glasses drop past the grace (5 s = 0.5 s wall) so the session
    is disposed; the app server then holds the next start (the persisted running app
    restarts on the new session and stays loading); the glasses come back."""
    app = await harness.app_server(PKG, subscriptions=["audio_chunk"])
    cloud = await harness.cloud(app, defects=defects, glasses_grace_s=5,
                                app_start_timeout_s=600)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.close()
    await sock.wait_closed()
    await harness.until(lambda: _no_users(harness, cloud), what="session disposed")
    after_dispose = await harness.sessions(cloud)
    after_dispose["leaked_gauge"] = await harness.metric(
        cloud, "wsquake_cloud_leaked_subscriptions"
    )
    app.mode = WebhookMode.HOLD
    again = await harness.glasses(cloud, EMAIL)
    ack = await again.next_message("connection_ack")
    after_dispose["ack"] = ack
    await app.next_webhook("session_request")
    await app.next_webhook("session_request")  # the restart of the persisted app
    return cloud, app, after_dispose, again


async def test_d9_subscriptions_outlive_dispose_and_drive_the_next_session(
    harness: Harness,
) -> None:
    cloud, app, after_dispose, again = await _dispose_then_reconnect(
        harness, Defects(leak_subscriptions_on_dispose=True)
    )
    assert after_dispose["leaked_gauge"] == 1
    assert after_dispose["leakedSubscriptions"] == [
        {"userId": EMAIL, "packageName": PKG, "subscriptions": ["audio_chunk"]}
    ]
    # The new session's ack already lists the stale set of an app that is not running.
    ack_session = after_dispose["ack"]["userSession"]
    assert ack_session["appSubscriptions"] == {PKG: ["audio_chunk"]}
    assert ack_session["activeAppSessions"] == []
    assert (await harness.sessions(cloud))["leakedSubscriptions"] == []  # taken over
    # The restarted app is only loading, yet holds the stale set and turns the mic on.
    loading = await harness.until(lambda: _app_state(harness, cloud, "loading"), what="loading")
    assert loading["subscriptions"] == ["audio_chunk"]
    mic = await again.next_message("microphone_state_change")
    assert mic["isMicrophoneEnabled"] is True
    await again.send_bytes(bytes(3200))  # relayed into the stale set: dropped, no socket
    await harness.until(
        lambda: harness.metric(cloud, "wsquake_cloud_messages_dropped_total", reason="no_socket"),
        what="audio relayed to a not running app",
    )


async def test_d9_off_dispose_removes_subscriptions(harness: Harness) -> None:
    cloud, app, after_dispose, again = await _dispose_then_reconnect(harness, FIXED)
    assert (after_dispose["leakedSubscriptions"], after_dispose["leaked_gauge"]) == ([], 0)
    assert after_dispose["ack"]["userSession"]["appSubscriptions"] == {}
    loading = await harness.until(lambda: _app_state(harness, cloud, "loading"), what="loading")
    assert loading["subscriptions"] == []
    await again.expect_silence("microphone_state_change", QUIET)


# --- D10 duplicate_init_restart ----------------------------------------------------------------


async def _init_after_failed_start(
    harness: Harness, defects: Defects
) -> tuple[AppServerPeer, GlassesClient]:
    """The dashboard app (started on every new session) fails its start at once (500,
    one attempt); then the glasses send connection_init, as Android does 1 s after open."""
    app = await harness.app_server(PKG, mode=WebhookMode.FAIL)
    cloud = await harness.cloud(app, defects=defects, types={PKG: "system_dashboard"},
                                webhook_attempts=1)
    glasses = await harness.glasses(cloud, EMAIL)
    await app.next_webhook("session_request")
    await harness.until(lambda: _app_state(harness, cloud, "disconnected"), what="start failed")
    await glasses.send_event("connection_init", coreToken=harness.token(EMAIL))
    return app, glasses


async def test_d10_connection_init_on_a_fresh_session_reruns_the_app_starts(
    harness: Harness,
) -> None:
    app, glasses = await _init_after_failed_start(harness, Defects(duplicate_init_restart=True))
    again = await app.next_webhook("session_request")
    assert again.body["sessionId"] == SID
    assert len(glasses.received("connection_ack")) == 2


async def test_d10_off_connection_init_only_re_acks(harness: Harness) -> None:
    app, glasses = await _init_after_failed_start(harness, FIXED)
    await glasses.next_message("connection_ack")
    await glasses.next_message("connection_ack")
    await app.expect_no_webhook("session_request", QUIET)
    assert app.webhook_count("session_request") == 1


# --- D11 loading_apps_as_object ------------------------------------------------------------------


async def _loading_views(harness: Harness, defects: Defects) -> tuple[Message, Message]:
    """(connection_ack, app_state_change while the app loads): the start is held."""
    app = await harness.app_server(PKG, mode=WebhookMode.HOLD)
    cloud = await harness.cloud(app, defects=defects, app_start_timeout_s=600)
    glasses = await harness.glasses(cloud, EMAIL)
    ack = await glasses.next_message("connection_ack")
    await glasses.start_app(PKG)
    await app.next_webhook("session_request")
    change = await glasses.next_message("app_state_change")
    return ack, change


async def test_d11_loading_apps_is_serialised_as_an_object(harness: Harness) -> None:
    ack, change = await _loading_views(harness, Defects(loading_apps_as_object=True))
    assert ack["userSession"]["loadingApps"] == {}
    assert change["userSession"]["loadingApps"] == {}  # even with an app loading


async def test_d11_off_loading_apps_is_a_list_naming_the_loading_app(harness: Harness) -> None:
    ack, change = await _loading_views(harness, FIXED)
    assert ack["userSession"]["loadingApps"] == []
    assert change["userSession"]["loadingApps"] == [PKG]


# --- D12 retry_after_sdk_500 --------------------------------------------------------------------


async def _late_sdk_500(harness: Harness, defects: Defects) -> tuple[Any, AppServerPeer]:
    """Timeline: start timeout 5 s = 0.5 s wall, webhook backoff 1 s = 0.1 s. The app
    server holds the session_request past the start timeout (the app fails: TIMEOUT),
    then answers the SDK's 500 "Failed to connect"."""
    app = await harness.app_server(PKG, mode=WebhookMode.HOLD_THEN_FAIL)
    cloud = await harness.cloud(app, defects=defects, webhook_timeout_s=600)
    glasses = await harness.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    first = await app.next_webhook("session_request")
    await harness.until(lambda: _app_state(harness, cloud, "disconnected"), what="TIMEOUT")
    app.release.set()
    assert first.body["sessionId"] == SID
    return cloud, app


async def test_d12_late_sdk_500_brings_a_second_session_request(harness: Harness) -> None:
    cloud, app = await _late_sdk_500(harness, Defects(retry_after_sdk_500=True))
    second = await app.next_webhook("session_request")
    assert second.body["sessionId"] == SID
    assert second.at - app.webhooks[0].at >= 5 * SCALE * 0.8


async def test_d12_off_timed_out_start_abandons_its_webhook(harness: Harness) -> None:
    cloud, app = await _late_sdk_500(harness, FIXED)
    await app.expect_no_webhook("session_request", 5 * SCALE)  # the retry: 0.1 s after
    assert app.webhook_count("session_request") == 1
    assert await harness.metric(
        cloud, "wsquake_cloud_webhook_requests_total", type="session_request", outcome="cancelled"
    ) == 1


# --- D13 dispose_without_stop_webhook -------------------------------------------------------------


async def _dispose(harness: Harness, defects: Defects) -> AppServerPeer:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, defects=defects, glasses_grace_s=5)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.close()
    stopped = await sock.next_message("app_stopped")
    assert stopped["reason"] == "system_stop"
    close = await sock.wait_closed()
    assert (close.code, close.reason) == (1000, "User session ended")
    await harness.until(lambda: _no_users(harness, cloud), what="session disposed")
    return app


async def test_d13_dispose_sends_no_stop_request(harness: Harness) -> None:
    app = await _dispose(harness, Defects(dispose_without_stop_webhook=True))
    await app.expect_no_webhook("stop_request", QUIET)
    assert app.webhook_count("stop_request") == 0


async def test_d13_off_dispose_sends_stop_request_system_stop(harness: Harness) -> None:
    app = await _dispose(harness, FIXED)
    stop = await app.next_webhook("stop_request")
    assert (stop.body["sessionId"], stop.body["reason"]) == (SID, "system_stop")
