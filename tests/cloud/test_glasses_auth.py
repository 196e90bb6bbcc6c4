"""Glasses upgrade authentication and connection_ack (PROTOCOL.md §3)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from websockets.exceptions import InvalidStatus

from tests.cloud.conftest import QUIET, Harness
from tests.cloud.peers import alg_none_token, forged_token, open_ws


async def _rejected(url: str, headers: dict[str, str] | None = None) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as info:
        ws = await open_ws(url, headers=headers)
        await ws.close()
    return info.value


def _error_body(exc: InvalidStatus) -> dict[str, object]:
    body = json.loads(exc.response.body or b"null")
    assert isinstance(body, dict), body
    return body


async def test_bearer_token_gets_connection_ack_on_open(harness: Harness) -> None:
    cloud = await harness.cloud()
    glasses = await harness.glasses(cloud, "alice@example.com")
    ack = await glasses.next_message("connection_ack")
    assert ack["sessionId"] == "alice@example.com"
    assert isinstance(ack["timestamp"], str) and ack["timestamp"]


async def test_connection_ack_user_session_has_list_fields(harness: Harness) -> None:
    cloud = await harness.cloud()
    glasses = await harness.glasses(cloud, "alice@example.com")
    ack = await glasses.next_message("connection_ack")
    session = ack["userSession"]
    assert session["userId"] == "alice@example.com"
    assert session["loadingApps"] == []  # a JSON array, never {} (D11 off)
    assert session["activeAppSessions"] == []
    assert session["appSubscriptions"] == {}
    assert isinstance(session["requiresAudio"], bool)
    assert isinstance(session["minimumTranscriptionLanguages"], list)
    assert isinstance(session["isTranscribing"], bool)
    assert "startTime" in session


async def test_query_token_is_accepted(harness: Harness) -> None:
    cloud = await harness.cloud()
    glasses = await harness.glasses(cloud, "bob@example.com", via_query=True)
    ack = await glasses.next_message("connection_ack")
    assert ack["sessionId"] == "bob@example.com"


async def test_missing_token_gets_401_no_core_token_provided(harness: Harness) -> None:
    cloud = await harness.cloud()
    exc = await _rejected(cloud.ws_url("/glasses-ws"))
    assert exc.response.status_code == 401
    body = _error_body(exc)
    assert body["type"] == "connection_error"
    assert body["message"] == "No core token provided"
    assert isinstance(body["timestamp"], str)


@pytest.mark.parametrize(
    "kind",
    ["forged", "expired", "alg_none", "garbage", "no_email"],
)
async def test_bad_token_gets_401_invalid_core_token(harness: Harness, kind: str) -> None:
    cloud = await harness.cloud()
    email = "mallory@example.com"
    tokens: dict[str, Callable[[], str]] = {
        "forged": lambda: forged_token(email),
        "expired": lambda: harness.expired_token(email),
        "alg_none": lambda: alg_none_token(email),
        "garbage": lambda: "not.a.jwt",
        "no_email": _token_without_email,
    }
    token = tokens[kind]()
    exc = await _rejected(cloud.ws_url("/glasses-ws"), {"Authorization": f"Bearer {token}"})
    assert exc.response.status_code == 401
    body = _error_body(exc)
    assert body["type"] == "connection_error"
    assert body["message"] == "Invalid core token"
    # Nothing was created for the rejected upgrade.
    assert (await harness.sessions(cloud))["users"] == []


def _token_without_email() -> str:
    import jwt

    from tests.cloud.conftest import SECRET

    return jwt.encode({"sub": "someone", "organizations": []}, SECRET, algorithm="HS256")


async def test_forged_query_token_gets_401(harness: Harness) -> None:
    cloud = await harness.cloud()
    url = cloud.ws_url("/glasses-ws") + "?token=" + forged_token("eve@example.com")
    exc = await _rejected(url)
    assert exc.response.status_code == 401
    assert _error_body(exc)["message"] == "Invalid core token"


async def test_rejected_upgrades_leave_other_sessions_untouched(harness: Harness) -> None:
    cloud = await harness.cloud()
    alice = await harness.glasses(cloud, "alice@example.com")
    await alice.next_message("connection_ack")
    await _rejected(cloud.ws_url("/glasses-ws"), {"Authorization": "Bearer nope"})
    await _rejected(cloud.ws_url("/glasses-ws"))
    # Alice's socket still works: connection_init gets one more ack.
    await alice.send_event("connection_init")
    await alice.next_message("connection_ack")
    users = (await harness.sessions(cloud))["users"]
    assert [u["userId"] for u in users] == ["alice@example.com"]


async def test_unknown_upgrade_path_gets_404(harness: Harness) -> None:
    cloud = await harness.cloud()
    exc = await _rejected(cloud.ws_url("/no-such-ws"))
    assert exc.response.status_code == 404


async def test_connection_init_gets_one_more_ack_and_nothing_else(harness: Harness) -> None:
    cloud = await harness.cloud()
    glasses = await harness.glasses(cloud, "alice@example.com")
    await glasses.next_message("connection_ack")
    await glasses.send_event("connection_init", coreToken="ignored", userId="ignored")
    second = await glasses.next_message("connection_ack")
    assert second["sessionId"] == "alice@example.com"
    # Window QUIET: any stray reply would come within milliseconds.
    await glasses.expect_silence(None, QUIET)


async def test_two_tokens_for_one_email_share_one_user_session(harness: Harness) -> None:
    cloud = await harness.cloud()
    first = await harness.glasses(cloud, "alice@example.com")
    await first.next_message("connection_ack")
    second = await harness.glasses(
        cloud, "alice@example.com", token=harness.token("alice@example.com", sub="other-sub")
    )
    await second.next_message("connection_ack")
    users = (await harness.sessions(cloud))["users"]
    assert [u["userId"] for u in users] == ["alice@example.com"]


async def test_health_returns_ok(harness: Harness) -> None:
    cloud = await harness.cloud()
    response = await harness.http.get(f"{cloud.url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_bearer_header_wins_over_query_token(harness: Harness) -> None:
    cloud = await harness.cloud()
    url = cloud.ws_url("/glasses-ws") + "?token=" + harness.token("bob@example.com")
    bearer = {"Authorization": f"Bearer {harness.token('alice@example.com')}"}
    ws = await open_ws(url, headers=bearer)
    try:
        ack = json.loads(await ws.recv())
        assert ack["type"] == "connection_ack"
        assert ack["sessionId"] == "alice@example.com"
    finally:
        await ws.close()
