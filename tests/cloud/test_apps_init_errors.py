"""tpa_connection_init checks, in order, each with its error code and close 1008 (§6.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.cloud.conftest import SCALE, Harness, running_app
from tests.cloud.peers import AppServerPeer, AppSocket, WebhookMode

if TYPE_CHECKING:
    from wsquake.cloud import CloudServer

EMAIL = "alice@example.com"
PKG = "com.example.echo"
SID = f"{EMAIL}-{PKG}"


async def _loading_app(harness: Harness) -> tuple[AppServerPeer, CloudServer]:
    """A cloud where alice's app is loading: the webhook is answered, no init yet.

    Start timeout 100 protocol s = 10 s wall, longer than any test here.
    """
    app = await harness.app_server(PKG, mode=WebhookMode.ACCEPT)
    cloud = await harness.cloud(app, app_start_timeout_s=100)
    glasses = await harness.glasses(cloud, EMAIL)
    await glasses.next_message("connection_ack")
    await glasses.start_app(PKG)
    await app.next_webhook("session_request")
    return app, cloud


async def _refused(sock: AppSocket, code: str) -> str:
    error = await sock.next_message("tpa_connection_error")
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["timestamp"], str)
    close = await sock.wait_closed()
    assert close.code == 1008, close
    return close.reason


async def test_malformed_json_first_message_is_malformed_message(harness: Harness) -> None:
    _, cloud = await _loading_app(harness)
    sock = await harness.app_socket(cloud)
    await sock.send_text("{not json")
    await _refused(sock, "MALFORMED_MESSAGE")


async def test_first_message_of_another_type_is_malformed_message(harness: Harness) -> None:
    _, cloud = await _loading_app(harness)
    sock = await harness.app_socket(cloud)
    await sock.send_json({"type": "subscription_update", "subscriptions": ["button_press"]})
    await _refused(sock, "MALFORMED_MESSAGE")


async def test_first_message_without_type_is_malformed_message(harness: Harness) -> None:
    _, cloud = await _loading_app(harness)
    sock = await harness.app_socket(cloud)
    await sock.send_json({"sessionId": SID, "packageName": PKG, "apiKey": "x"})
    await _refused(sock, "MALFORMED_MESSAGE")


async def test_unknown_package_is_package_not_found_before_key_check(harness: Harness) -> None:
    _, cloud = await _loading_app(harness)
    sock = await harness.app_socket(cloud)
    await sock.send_init(f"{EMAIL}-com.unknown.app", "com.unknown.app", "wrong-key")
    await _refused(sock, "PACKAGE_NOT_FOUND")


async def test_wrong_api_key_is_invalid_api_key_before_session_check(harness: Harness) -> None:
    _, cloud = await _loading_app(harness)
    sock = await harness.app_socket(cloud)
    await sock.send_init(f"nobody@example.com-{PKG}", PKG, "wrong-key")
    await _refused(sock, "INVALID_API_KEY")


async def test_session_of_no_live_user_is_session_not_found(harness: Harness) -> None:
    app, cloud = await _loading_app(harness)
    sock = await harness.app_socket(cloud)
    await sock.send_init(f"nobody@example.com-{PKG}", PKG, app.api_key)
    await _refused(sock, "SESSION_NOT_FOUND")


async def test_session_id_naming_another_package_is_session_not_found(harness: Harness) -> None:
    # The id must end with "-" + packageName (§8 rule 1).
    app, cloud = await _loading_app(harness)
    sock = await harness.app_socket(cloud)
    await sock.send_init(f"{EMAIL}-com.other.app", PKG, app.api_key)
    await _refused(sock, "SESSION_NOT_FOUND")


async def test_unparseable_session_id_closes_with_invalid_format_reason(harness: Harness) -> None:
    app, cloud = await _loading_app(harness)
    sock = await harness.app_socket(cloud)
    await sock.send_init("garbage", PKG, app.api_key)
    reason = await _refused(sock, "SESSION_NOT_FOUND")
    assert reason == "Invalid session ID format"


async def test_app_not_started_for_user_is_app_not_started(harness: Harness) -> None:
    app = await harness.app_server(PKG, mode=WebhookMode.ACCEPT)
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    await glasses.next_message("connection_ack")
    sock = await harness.app_socket(cloud)
    await sock.send_init(SID, PKG, app.api_key)
    await _refused(sock, "APP_NOT_STARTED")


async def test_sha256_of_the_key_is_not_a_valid_api_key(harness: Harness) -> None:
    # The registry may store the key hashed; the app still sends the plain key.
    from tests.cloud.peers import sha256_hex

    app, cloud = await _loading_app(harness)
    sock = await harness.app_socket(cloud)
    await sock.send_init(SID, PKG, sha256_hex(app.api_key) + "0")
    await _refused(sock, "INVALID_API_KEY")


@pytest.mark.parametrize(
    "code",
    ["MALFORMED_MESSAGE", "PACKAGE_NOT_FOUND", "INVALID_API_KEY", "SESSION_NOT_FOUND"],
)
async def test_init_errors_are_counted_by_code(harness: Harness, code: str) -> None:
    app, cloud = await _loading_app(harness)
    sock = await harness.app_socket(cloud)
    if code == "MALFORMED_MESSAGE":
        await sock.send_text("[]")
    elif code == "PACKAGE_NOT_FOUND":
        await sock.send_init(f"{EMAIL}-com.unknown.app", "com.unknown.app", "k")
    elif code == "INVALID_API_KEY":
        await sock.send_init(SID, PKG, "wrong")
    else:
        await sock.send_init(f"nobody@example.com-{PKG}", PKG, app.api_key)
    await _refused(sock, code)
    value = await harness.metric(
        cloud, "wsquake_cloud_tpa_connection_errors_total",
        code=code,
    )
    assert value == 1


async def test_refused_init_leaves_loading_app_and_other_users_untouched(
    harness: Harness,
) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, app_start_timeout_s=100)
    bob = await harness.glasses(cloud, "bob@example.com")
    bob_app = await running_app(harness, bob, app)
    bad = await harness.app_socket(cloud)
    await bad.send_init(f"bob@example.com-{PKG}", PKG, "wrong-key")
    await _refused(bad, "INVALID_API_KEY")
    # Bob's bound socket was not replaced or closed; relays still reach it.
    await bob.press_button("still-here")
    event = await bob_app.next_message("data_stream")
    assert event["data"]["buttonId"] == "still-here"
    view = await harness.app_view(cloud, "bob@example.com", PKG)
    assert view["state"] == "running"
    assert view["sockets"] == 1


async def test_app_message_before_init_gets_no_relay_and_closes(harness: Harness) -> None:
    _, cloud = await _loading_app(harness)
    sock = await harness.app_socket(cloud)
    await sock.send_json(
        {"type": "display_event", "view": "main", "layout": {"layoutType": "text_wall"}}
    )
    await _refused(sock, "MALFORMED_MESSAGE")
    await sock.expect_silence("data_stream", 2 * SCALE)
