"""TPA-server registration and restart recovery (PROTOCOL.md §7.3) with the app server.

Timeline unit: one protocol second = ``units(1)`` wall seconds. The app grace is long
(60 units) so that only restart recovery, not resurrection, can bring the app back.
"""

from __future__ import annotations

import pytest

from tests.simulators.app_fixtures import (  # noqa: F401 - app_harness is the h fixture
    AppHarness,
    app_harness,
    until,
    wait_event,
)
from wsquake.config import ConfigError
from wsquake.history import EventKind, MemoryHistory, Outcome
from wsquake.simulators.app_server import AppServer, AppServerSettings, RegistrationFailed

EMAILS = ("dave@example.com", "erin@example.com")
PKG = "com.example.tpa"


async def registration(h: AppHarness, cloud_url: str, reg_id: str) -> dict[str, object]:
    body = (await h.http.get(f"{cloud_url}/api/tpa-server/registrations")).json()
    found = [r for r in body["registrations"] if r["registrationId"] == reg_id]
    assert found, body
    return dict(found[0])


async def test_restarted_app_server_recovers_its_sessions_by_registering_again(
    h: AppHarness,
) -> None:
    first_history = MemoryHistory("app-1")
    first = AppServer(
        AppServerSettings(package_name=PKG, api_key=f"key-{PKG}", time_scale=0.05,
                          subscriptions=("button_press",)),
        history=first_history,
    )
    await first.__aenter__()
    try:
        cloud = await h.cloud(first, app_grace_s=60)
        reg1 = await first.register(cloud.url)
        glasses = [await h.glasses(cloud, email) for email in EMAILS]
        for g in glasses:
            await g.start_app(PKG)
        for email in EMAILS:
            await wait_event(first_history, EventKind.SUBSCRIBE,
                             where=lambda e, sid=f"{email}-{PKG}": e.session_id == sid
                             and e["streams"] == "button_press")
        async def both_active() -> bool:
            return len((await registration(h, cloud.url, reg1))["activeSessions"]) == 2

        await until(both_active, what="two active sessions in the registration")
        port = first.port
    finally:
        await first.__aexit__(None, None, None)  # shutdown: 1005 closes, no release
    assert first_history.of(EventKind.CLOSE, Outcome.INVOKE)
    assert not first_history.of(EventKind.NOTE, Outcome.INFO)[1:]  # only "registered"

    # a new process on the same webhook URL registers again -> recovery
    second_history = MemoryHistory("app-2")
    second = await h.app_server(PKG, history=second_history, port=port)
    reg2 = await second.register(cloud.url)
    assert reg2 != reg1
    for email in EMAILS:
        sid = f"{email}-{PKG}"
        request = await wait_event(second_history, EventKind.WEBHOOK, Outcome.OK,
                                   where=lambda e, sid=sid: e.session_id == sid)
        assert request["request"] == "session_request"
    assert sorted(second.sessions) == sorted(f"{e}-{PKG}" for e in EMAILS)
    await wait_event(second_history, EventKind.SUBSCRIBE,
                     where=lambda e: e["streams"] == "button_press")
    # data flows to the recovered session; nothing was resurrected (no stop_request)
    await glasses[0].send_event("button_press", buttonId="main", pressType="short", seq=9,
                                sentNs=0)
    got = await wait_event(second_history, EventKind.RECEIVE, where=lambda e: e["seq"] == 9)
    assert got.session_id == f"{EMAILS[0]}-{PKG}"
    assert not [e for e in second_history.of(EventKind.WEBHOOK)
                if e["request"] == "stop_request"]
    old = await registration(h, cloud.url, reg1)
    assert old["isActive"] is False


async def test_registration_with_a_wrong_api_key_raises_registration_failed(
    h: AppHarness,
) -> None:
    server = await h.app_server(PKG)
    cloud = await h.cloud(server)
    bad = AppServer(AppServerSettings(package_name=PKG, api_key="wrong", register_with=cloud.url))
    with pytest.raises(RegistrationFailed, match="HTTP 401"):
        await h.enter(bad)


async def test_heartbeats_keep_the_registration_seen(h: AppHarness) -> None:
    server = await h.app_server(PKG, heartbeat_interval_s=1)
    cloud = await h.cloud(server)
    reg = await server.register(cloud.url)
    before = (await registration(h, cloud.url, reg))["lastSeen"]
    async def seen_again() -> bool:
        return (await registration(h, cloud.url, reg))["lastSeen"] != before

    await until(seen_again, what="a heartbeat")
    assert server.registration is not None and server.registration.heartbeats >= 1


def test_settings_reject_a_non_http_register_url() -> None:
    with pytest.raises(ConfigError, match="register_with"):
        AppServerSettings(package_name=PKG, api_key="k", register_with="ftp://x")
