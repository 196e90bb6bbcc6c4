"""Bad input at the cloud's WebSocket edges (§4, §6.1, §6.5, §11).

Each case gets its specific error and close code, is counted in ``/metrics``, leaves the
other sessions untouched and leaves nothing behind in ``/api/sessions``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.cloud.conftest import Harness, running_app
from tests.cloud.peers import AppServerPeer, AppSocket, GlassesClient, WebhookMode

if TYPE_CHECKING:
    from wsquake.cloud import CloudServer

EMAIL = "alice@example.com"
BYSTANDER = "bob@example.com"
PKG = "com.example.echo"
SID = f"{EMAIL}-{PKG}"

GLASSES_BAD_FRAMES = {
    "malformed_json": '{"type": "button_press", ',
    "no_type": json.dumps({"buttonId": "main", "pressType": "short"}),
    "type_not_a_string": json.dumps({"type": 7}),
    "not_an_object": json.dumps(["button_press"]),
    "mistyped_field": json.dumps({"type": "start_app", "packageName": 42}),
}


async def _bystander(
    harness: Harness, cloud: CloudServer, app: AppServerPeer
) -> tuple[GlassesClient, AppSocket]:
    glasses = await harness.glasses(cloud, BYSTANDER)
    sock = await running_app(harness, glasses, app)
    return glasses, sock


async def _still_fine(glasses: GlassesClient, sock: AppSocket, tag: str) -> None:
    await glasses.press_button(tag)
    event = await sock.next_message("data_stream", where=lambda m: m["data"]["buttonId"] == tag)
    assert event["sessionId"] == f"{BYSTANDER}-{PKG}"


@pytest.mark.parametrize("case", sorted(GLASSES_BAD_FRAMES))
async def test_bad_glasses_frame_is_malformed_message_and_1008(
    harness: Harness, case: str
) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, glasses_grace_s=600)
    bob, bob_sock = await _bystander(harness, cloud, app)
    glasses = await harness.glasses(cloud, EMAIL)
    await glasses.next_message("connection_ack")
    await glasses.send_text(GLASSES_BAD_FRAMES[case])
    error = await glasses.next_message("connection_error")
    assert error["code"] == "MALFORMED_MESSAGE"
    assert isinstance(error["message"], str) and error["message"]
    close = await glasses.wait_closed()
    assert close.code == 1008
    await _still_fine(bob, bob_sock, case)
    assert await harness.metric(cloud, "wsquake_cloud_bad_frames_total") >= 1


async def test_unknown_glasses_type_is_ignored_and_socket_stays_open(harness: Harness) -> None:
    cloud = await harness.cloud()
    glasses = await harness.glasses(cloud, EMAIL)
    await glasses.next_message("connection_ack")
    await glasses.send_event("no_such_message_type", payload=1)
    await glasses.send_event("connection_init")
    await glasses.next_message("connection_ack")
    assert not glasses.is_closed
    assert glasses.received("connection_error") == []


async def test_oversized_glasses_frame_is_closed_1009(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, max_message_bytes=4096, glasses_grace_s=600)
    bob, bob_sock = await _bystander(harness, cloud, app)
    glasses = await harness.glasses(cloud, EMAIL)
    await glasses.next_message("connection_ack")
    await glasses.send_event("button_press", buttonId="x" * 8192, pressType="short")
    close = await glasses.wait_closed()
    assert close.code == 1009
    await _still_fine(bob, bob_sock, "after-oversize")
    assert await harness.metric(cloud, "wsquake_cloud_bad_frames_total", kind="glasses") == 1


async def test_oversized_binary_glasses_frame_is_closed_1009(harness: Harness) -> None:
    cloud = await harness.cloud(max_message_bytes=4096)
    glasses = await harness.glasses(cloud, EMAIL)
    await glasses.next_message("connection_ack")
    await glasses.send_bytes(bytes(8192))
    assert (await glasses.wait_closed()).code == 1009
    assert await harness.metric(cloud, "wsquake_cloud_bad_frames_total", kind="glasses") == 1


async def test_oversized_app_frame_is_closed_1009(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, max_message_bytes=4096)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.display("y" * 8192)
    assert (await sock.wait_closed()).code == 1009
    assert await harness.metric(cloud, "wsquake_cloud_bad_frames_total", kind="app") == 1


async def test_binary_frame_before_init_is_malformed_message(harness: Harness) -> None:
    app = await harness.app_server(PKG, mode=WebhookMode.ACCEPT)
    cloud = await harness.cloud(app)
    sock = await harness.app_socket(cloud)
    await sock.send_bytes(b"\x00\x01\x02")
    error = await sock.next_message("tpa_connection_error")
    assert error["code"] == "MALFORMED_MESSAGE"
    assert (await sock.wait_closed()).code == 1008
    await harness.until(lambda: _no_connections(harness, cloud), what="no app sockets left")
    assert await harness.metric(cloud, "wsquake_cloud_bad_frames_total", kind="app") == 1


async def test_binary_frame_from_a_bound_app_is_ignored(harness: Harness) -> None:
    # Apps never send audio (§2): a bound app's binary frame is not relayed anywhere and
    # the socket stays usable.
    app = await harness.app_server(PKG, subscriptions=["audio_chunk", "button_press"])
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.send_bytes(b"\x00" * 64)
    await glasses.press_button("after-binary")
    event = await sock.next_message("data_stream")
    assert event["data"]["buttonId"] == "after-binary"
    assert sock.inbox.all("binary") == []
    assert await harness.metric(cloud, "wsquake_cloud_bad_frames_total", kind="app") >= 1


async def test_unknown_app_message_after_init_is_ignored(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.send_json({"type": "photo_request", "requestId": "r1"})
    await sock.send_json({"type": "totally_unknown"})
    await glasses.press_button("still-open")
    assert (await sock.next_message("data_stream"))["data"]["buttonId"] == "still-open"
    assert sock.received("tpa_connection_error") == []


async def test_malformed_json_from_a_bound_app_is_malformed_message(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, app_grace_s=600)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.send_text("{broken")
    error = await sock.next_message("tpa_connection_error")
    assert error["code"] == "MALFORMED_MESSAGE"
    assert (await sock.wait_closed()).code == 1008


async def test_session_id_of_another_user_is_rejected(harness: Harness) -> None:
    # Bob's app is running. An init for bob's session id sent with alice's... there is no
    # credential but the api key, so the check is that the id's user has a live session
    # and that the package matches: a made-up user is refused.
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    bob, bob_sock = await _bystander(harness, cloud, app)
    sock = await harness.app_socket(cloud)
    await sock.send_init(f"carol@example.com-{PKG}", PKG, app.api_key)
    error = await sock.next_message("tpa_connection_error")
    assert error["code"] == "SESSION_NOT_FOUND"
    assert (await sock.wait_closed()).code == 1008
    await _still_fine(bob, bob_sock, "bob-unaffected")
    users = (await harness.sessions(cloud))["users"]
    assert [u["userId"] for u in users] == [BYSTANDER]


@pytest.mark.parametrize("kind", ["forged", "expired", "alg_none"])
async def test_bad_token_is_counted_and_leaves_nothing_behind(
    harness: Harness, kind: str
) -> None:
    from websockets.exceptions import InvalidStatus

    from tests.cloud.peers import alg_none_token, forged_token, open_ws

    cloud = await harness.cloud()
    token = {
        "forged": forged_token(EMAIL),
        "expired": harness.expired_token(EMAIL),
        "alg_none": alg_none_token(EMAIL),
    }[kind]
    with pytest.raises(InvalidStatus):
        await open_ws(cloud.ws_url("/glasses-ws"), headers={"Authorization": f"Bearer {token}"})
    body = await harness.sessions(cloud)
    assert body["users"] == []
    assert body["connections"]["glasses"] == 0
    assert await harness.metric(cloud, "wsquake_cloud_auth_failures_total") == 1


async def test_bad_app_inits_leave_no_unbound_sockets(harness: Harness) -> None:
    app = await harness.app_server(PKG, mode=WebhookMode.ACCEPT)
    cloud = await harness.cloud(app)
    for init in (
        {"type": "tpa_connection_init", "sessionId": SID, "packageName": "nope", "apiKey": "k"},
        {"type": "tpa_connection_init", "sessionId": SID, "packageName": PKG, "apiKey": "bad"},
        {"type": "tpa_connection_init", "sessionId": SID, "packageName": PKG},
        {"type": "tpa_connection_init", "sessionId": 5, "packageName": PKG, "apiKey": "k"},
    ):
        sock = await harness.app_socket(cloud)
        await sock.send_json(init)
        await sock.next_message("tpa_connection_error")
        assert (await sock.wait_closed()).code == 1008
    await harness.until(lambda: _no_connections(harness, cloud), what="no app sockets left")
    assert await harness.metric(cloud, "wsquake_cloud_tpa_connection_errors_total") == 4


async def _no_connections(harness: Harness, cloud: CloudServer) -> bool:
    # The cloud forgets a socket when its close completes, a moment after the client's.
    connections = (await harness.sessions(cloud))["connections"]
    return bool(connections == {"glasses": 0, "app": 0, "app_unbound": 0})


async def test_register_body_of_wrong_type_is_400_naming_the_field(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    response = await harness.http.post(
        f"{cloud.url}/api/tpa-server/register",
        json={"packageName": 5, "apiKey": app.api_key, "webhookUrl": app.webhook_url},
    )
    assert response.status_code == 400
    assert "packageName" in response.json()["error"]
