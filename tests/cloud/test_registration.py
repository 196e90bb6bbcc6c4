"""App-server registration, heartbeat and restart recovery (§7.3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cloud.conftest import Harness, running_app
from tests.cloud.peers import AppServerPeer

EMAIL = "alice@example.com"
PKG = "com.example.echo"
SID = f"{EMAIL}-{PKG}"


async def _post(harness: Harness, cloud: Any, route: str, body: Any) -> tuple[int, Any]:
    response = await harness.http.post(f"{cloud.url}/api/tpa-server/{route}", json=body)
    try:
        payload = response.json()
    except ValueError:
        payload = response.text
    return response.status_code, payload


def _register_body(app: AppServerPeer, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "packageName": app.package_name,
        "apiKey": app.api_key,
        "webhookUrl": app.webhook_url,
        "serverUrls": "",
    }
    body.update(overrides)
    return body


async def test_register_returns_201_with_a_registration_id(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    status, body = await _post(harness, cloud, "register", _register_body(app))
    assert status == 201, body
    assert body["success"] is True
    assert isinstance(body["registrationId"], str) and body["registrationId"]
    listed = (await harness.http.get(f"{cloud.url}/api/tpa-server/registrations")).json()
    entries = listed if isinstance(listed, list) else listed.get("registrations", listed)
    assert [e["registrationId"] for e in entries] == [body["registrationId"]]
    assert entries[0]["packageName"] == PKG
    assert entries[0]["webhookUrl"] == app.webhook_url
    assert entries[0]["isActive"] is True


@pytest.mark.parametrize("missing", ["packageName", "apiKey", "webhookUrl"])
async def test_register_without_a_field_is_400_naming_it(harness: Harness, missing: str) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    body = _register_body(app)
    del body[missing]
    status, reply = await _post(harness, cloud, "register", body)
    assert status == 400, reply
    assert reply["success"] is False
    assert missing in reply["error"]


async def test_register_with_a_wrong_api_key_is_401(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    status, reply = await _post(harness, cloud, "register", _register_body(app, apiKey="nope"))
    assert status == 401, reply
    assert reply["success"] is False


async def test_register_with_a_non_json_body_is_400(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    response = await harness.http.post(
        f"{cloud.url}/api/tpa-server/register",
        content=b"{oops",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400


async def test_heartbeat_of_a_known_registration_is_200(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    _, reg = await _post(harness, cloud, "register", _register_body(app))
    status, reply = await _post(
        harness, cloud, "heartbeat", {"registrationId": reg["registrationId"]}
    )
    assert (status, reply) == (200, {"success": True})


@pytest.mark.parametrize("route", ["heartbeat", "restart"])
async def test_unknown_registration_is_404(harness: Harness, route: str) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    status, reply = await _post(harness, cloud, route, {"registrationId": "no-such-id"})
    assert status == 404, reply
    assert reply == {"success": False, "error": "Registration not found"}


@pytest.mark.parametrize("route", ["heartbeat", "restart"])
async def test_registration_id_missing_is_400(harness: Harness, route: str) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    status, reply = await _post(harness, cloud, route, {})
    assert status == 400, reply
    assert "registrationId" in reply["error"]


async def test_running_app_is_listed_in_its_registration(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    _, reg = await _post(harness, cloud, "register", _register_body(app))
    glasses = await harness.glasses(cloud, EMAIL)
    await running_app(harness, glasses, app)
    registrations = (await harness.sessions(cloud))["registrations"]
    assert [r["activeSessions"] for r in registrations] == [[SID]]
    assert registrations[0]["registrationId"] == reg["registrationId"]


async def test_restart_sends_session_request_with_the_same_session_id(harness: Harness) -> None:
    # After the restart the peer (SDK mode) connects a new socket that supersedes the old
    # one; no stop_request is sent and the app stays running.
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    _, reg = await _post(harness, cloud, "register", _register_body(app))
    glasses = await harness.glasses(cloud, EMAIL)
    old = await running_app(harness, glasses, app)
    first = await app.next_webhook("session_request")
    status, reply = await _post(
        harness, cloud, "restart", {"registrationId": reg["registrationId"]}
    )
    assert status == 200, reply
    assert reply == {"success": True, "recoveredSessions": 1}
    again = await app.next_webhook("session_request")
    assert again.body["sessionId"] == first.body["sessionId"] == SID
    new = await app.next_socket()
    close = await old.wait_closed()
    assert (close.code, close.reason) == (1008, "Superseded by a newer connection")
    assert app.webhook_count("stop_request") == 0
    await glasses.press_button("recovered")
    assert (await new.next_message("data_stream"))["data"]["buttonId"] == "recovered"


async def test_restart_with_no_active_sessions_recovers_none(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    _, reg = await _post(harness, cloud, "register", _register_body(app))
    status, reply = await _post(
        harness, cloud, "restart", {"registrationId": reg["registrationId"]}
    )
    assert (status, reply) == (200, {"success": True, "recoveredSessions": 0})
    assert app.webhook_count("session_request") == 0


async def test_reregistering_moves_sessions_and_runs_recovery(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    _, reg = await _post(harness, cloud, "register", _register_body(app))
    glasses = await harness.glasses(cloud, EMAIL)
    await running_app(harness, glasses, app)
    await app.next_webhook("session_request")
    status, again = await _post(harness, cloud, "register", _register_body(app))
    assert status == 201
    assert again["registrationId"] != reg["registrationId"]
    hook = await app.next_webhook("session_request")
    assert hook.body["sessionId"] == SID
    listed = (await harness.sessions(cloud))["registrations"]
    registrations = {r["registrationId"]: r for r in listed}
    assert registrations[reg["registrationId"]]["isActive"] is False
    assert registrations[again["registrationId"]]["isActive"] is True


async def test_registration_webhook_url_is_used_for_recovery(harness: Harness) -> None:
    # The registry's publicUrl points at one server; the registration's webhookUrl at
    # another. Recovery posts to the registration's URL.
    listed = await harness.app_server(PKG)
    other = await harness.app_server(PKG, api_key=listed.api_key)
    cloud = await harness.cloud(listed)
    _, reg = await _post(
        harness, cloud, "register", _register_body(listed, webhookUrl=other.webhook_url)
    )
    glasses = await harness.glasses(cloud, EMAIL)
    await running_app(harness, glasses, listed)
    await _post(harness, cloud, "restart", {"registrationId": reg["registrationId"]})
    hook = await other.next_webhook("session_request")
    assert hook.body["sessionId"] == SID
    await other.next_socket()


async def test_stopped_app_leaves_its_registration(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    _, reg = await _post(harness, cloud, "register", _register_body(app))
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.stop_app(PKG)
    await sock.wait_closed()
    [listed] = (await harness.sessions(cloud))["registrations"]
    assert listed["activeSessions"] == []
    status, reply = await _post(
        harness, cloud, "restart", {"registrationId": reg["registrationId"]}
    )
    assert (status, reply) == (200, {"success": True, "recoveredSessions": 0})
