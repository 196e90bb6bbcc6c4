"""Known upstream defects D1 (hyphen-unsafe session ids) and D2 (a stale close unbinds the
live app socket), each with its switch on, and the fixed behaviour with it off
(PROTOCOL.md §12). Time unit: SCALE = 0.1, so app grace 5 s = 0.5 s wall."""

from __future__ import annotations

from typing import Any

from tests.cloud.conftest import SCALE, Harness, running_app
from wsquake.cloud.settings import Defects

FIXED = Defects(profile="fixed")
D1 = Defects(split_session_id=True)
D2 = Defects(stale_close_unchecked=True)

PKG = "com.example.echo"
HYPHEN_EMAIL = "anne-marie@ex-ample.com"
HYPHEN_PKG = "com.ex-ample.notes"
EMAIL = "bob@example.com"


async def _state(harness: Harness, cloud: Any, email: str, package: str, state: str) -> bool:
    user = await harness.user(cloud, email)
    if user is None:
        return False
    return any(a["packageName"] == package and a["state"] == state for a in user["apps"])


# --- D1 split_session_id: the init ------------------------------------------------------


async def test_d1_hyphenated_email_init_gets_session_not_found_and_1008(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, defects=D1)
    glasses = await harness.glasses(cloud, HYPHEN_EMAIL)
    await glasses.start_app(PKG)
    hook = await app.next_webhook("session_request")
    assert hook.body["sessionId"] == f"{HYPHEN_EMAIL}-{PKG}"
    await hook.answered.wait()
    assert hook.status == 500  # the SDK's "Failed to connect"
    sock = app.sockets[0]
    [error] = sock.received("tpa_connection_error")  # the SDK-like peer read it
    assert error["code"] == "SESSION_NOT_FOUND"
    assert "anne" in error["message"]  # split('-')[0] of the session id
    assert (await sock.wait_closed()).code == 1008
    await harness.until(
        lambda: _state(harness, cloud, HYPHEN_EMAIL, PKG, "disconnected"),
        what="app never started",
    )
    assert await harness.metric(
        cloud, "wsquake_cloud_tpa_connection_errors_total", code="SESSION_NOT_FOUND"
    ) >= 1


async def test_d1_off_hyphenated_email_app_runs_and_gets_data(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, defects=FIXED)
    glasses = await harness.glasses(cloud, HYPHEN_EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.press_button("hyphen-ok")
    assert (await sock.next_message("data_stream"))["data"]["buttonId"] == "hyphen-ok"


# --- D1 split_session_id: the close and restart recovery ---------------------------------


async def test_d1_hyphenated_package_close_is_lost_app_stays_running(harness: Harness) -> None:
    # Timeline: app grace 5 s = 0.5 s wall. The socket closes at t0; with D1 the close
    # handler looks for package "com.ex" and finds nothing: no grace, no resurrection
    # within 2 grace periods, and data relayed to the app is dropped.
    app = await harness.app_server(HYPHEN_PKG)
    cloud = await harness.cloud(app, defects=D1, app_grace_s=5)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.close(1011)
    await app.expect_no_webhook("stop_request", 10 * SCALE)
    view = await harness.app_view(cloud, EMAIL, HYPHEN_PKG)
    assert view["state"] == "running"
    assert view["sockets"] == 1  # the dead socket is still held
    await glasses.press_button("into-the-void")
    await harness.until(
        lambda: harness.metric(cloud, "wsquake_cloud_messages_dropped_total", reason="no_socket"),
        what="relay to the dead socket dropped",
    )


async def test_d1_off_hyphenated_package_close_resurrects_the_app(harness: Harness) -> None:
    app = await harness.app_server(HYPHEN_PKG)
    cloud = await harness.cloud(app, defects=FIXED, app_grace_s=5)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.close(1011)
    stop = await app.next_webhook("stop_request")
    assert stop.body["sessionId"] == f"{EMAIL}-{HYPHEN_PKG}"
    await app.next_socket()  # resurrected with the same session id


async def _restart_recovers(harness: Harness, defects: Defects) -> int:
    app = await harness.app_server(HYPHEN_PKG)
    cloud = await harness.cloud(app, defects=defects)
    response = await harness.http.post(
        f"{cloud.url}/api/tpa-server/register",
        json={"packageName": HYPHEN_PKG, "apiKey": app.api_key,
              "webhookUrl": app.webhook_url, "serverUrls": ""},
    )
    assert response.status_code == 201, response.text
    registration_id = response.json()["registrationId"]
    glasses = await harness.glasses(cloud, EMAIL)
    await running_app(harness, glasses, app)
    response = await harness.http.post(
        f"{cloud.url}/api/tpa-server/restart", json={"registrationId": registration_id}
    )
    assert response.status_code == 200, response.text
    return int(response.json()["recoveredSessions"])


async def test_d1_restart_recovery_skips_a_hyphenated_package(harness: Harness) -> None:
    assert await _restart_recovers(harness, D1) == 0


async def test_d1_off_restart_recovery_recovers_a_hyphenated_package(harness: Harness) -> None:
    assert await _restart_recovers(harness, FIXED) == 1


# --- D2 stale_close_unchecked --------------------------------------------------------------


async def _stale_close(harness: Harness, defects: Defects) -> tuple[Any, Any, Any, Any]:
    """The SDK reconnected (new socket acked) before the old socket's close reached the
    cloud: the test opens the new socket, inits, then closes the old one itself."""
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, defects=defects, app_grace_s=5)
    glasses = await harness.glasses(cloud, EMAIL)
    old = await running_app(harness, glasses, app)
    new = await harness.app_socket(cloud)
    await new.handshake(f"{EMAIL}-{PKG}", PKG, app.api_key)
    if not old.is_closed:
        await old.close(1001)
    await old.wait_closed()
    return app, cloud, glasses, new


async def test_d2_stale_close_puts_app_with_live_socket_in_grace(harness: Harness) -> None:
    # Timeline: the stale close at t0 unbinds the live socket; grace 0.5 s wall; then
    # stop_request + session_request arrive for a healthy app and metrics count a
    # resurrection.
    app, cloud, glasses, new = await _stale_close(harness, D2)
    await harness.until(
        lambda: _state(harness, cloud, EMAIL, PKG, "grace_period"), what="grace_period"
    )
    assert not new.is_closed  # live and acked, but no longer bound
    await glasses.press_button("lost-to-grace")
    stop = await app.next_webhook("stop_request")
    assert stop.body["sessionId"] == f"{EMAIL}-{PKG}"
    await app.next_webhook("session_request")  # the start ...
    await app.next_webhook("session_request")  # ... and the resurrection
    assert new.received("data_stream") == []
    assert await harness.metric(cloud, "wsquake_cloud_app_resurrections_total") == 1


async def test_d2_off_stale_close_leaves_the_new_socket_bound(harness: Harness) -> None:
    app, cloud, glasses, new = await _stale_close(harness, FIXED)
    await app.expect_no_webhook("stop_request", 10 * SCALE)
    await glasses.press_button("to-new")
    assert (await new.next_message("data_stream"))["data"]["buttonId"] == "to-new"
    view = await harness.app_view(cloud, EMAIL, PKG)
    assert (view["state"], view["resurrections"]) == ("running", 0)
