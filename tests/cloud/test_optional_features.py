"""Optional/project features of the cloud that the conformance suite does not cover:
``honor_ownership_release``, registration webhooks, ``request_settings``.

Uses the suite's peers (tests/cloud/peers.py) but builds CloudSettings itself, since these
switches are not timings. Timeline unit: SCALE (0.1) times the protocol defaults.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from tests.cloud.conftest import SCALE, SECRET, Harness, running_app
from tests.cloud.peers import AppServerPeer
from wsquake.cloud import AppEntry, CloudServer, CloudSettings, Timings

EMAIL = "ann-marie@ex-ample.com"
PKG = "com.ex-ample.echo"


@contextlib.asynccontextmanager
async def cloud_for(app: AppServerPeer, **settings: Any) -> AsyncIterator[CloudServer]:
    entry = AppEntry(package_name=app.package_name, public_url=app.url, api_key=app.api_key)
    config = CloudSettings(
        port=0, jwt_secret=SECRET, timings=Timings(time_scale=SCALE), apps=(entry,), **settings
    )
    async with CloudServer(config) as cloud:
        yield cloud


async def _app_state(h: Harness, cloud: CloudServer) -> str | None:
    user = await h.user(cloud, EMAIL)
    if user is None:
        return None
    for app in user["apps"]:
        if app["packageName"] == PKG:
            return str(app["state"])
    return None


async def test_honoured_release_ends_the_app_without_grace_or_webhook(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    async with cloud_for(app, honor_ownership_release=True) as cloud:
        glasses = await harness.glasses(cloud, EMAIL)
        sock = await running_app(harness, glasses, app)
        await sock.send_json({"type": "ownership_release", "reason": "switching_clouds"})
        await sock.close(1000)

        async def disconnected() -> bool:
            return await _app_state(harness, cloud) == "disconnected"

        await harness.until(disconnected, what="app disconnected after release")
        # No grace -> no resurrection: neither a stop_request nor a new session_request
        # within a full grace period (app_grace_s = 5 s -> 0.5 s) plus margin.
        await app.expect_no_webhook(None, 8 * SCALE)


async def test_release_is_only_recorded_by_default(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    async with cloud_for(app) as cloud:
        glasses = await harness.glasses(cloud, EMAIL)
        sock = await running_app(harness, glasses, app)
        await sock.send_json({"type": "ownership_release", "reason": "clean_shutdown"})
        await sock.close(1000)

        async def in_grace_or_later() -> bool:
            return await _app_state(harness, cloud) in ("grace_period", "resurrecting")

        await harness.until(in_grace_or_later, what="app in grace after a release")


async def test_registration_webhook_is_posted_when_enabled(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    async with cloud_for(app, send_registration_webhooks=True) as cloud:
        response = await harness.http.post(
            f"{cloud.url}/api/tpa-server/register",
            json={"packageName": PKG, "apiKey": app.api_key, "webhookUrl": app.webhook_url,
                  "serverUrls": "ws://127.0.0.1:1/app-ws"},
        )
        assert response.status_code == 201, response.text
        hook = await app.next_webhook("server_registration")
        assert hook.body["registrationId"] == response.json()["registrationId"]
        assert hook.body["userId"] == "system"
        assert hook.body["sessionId"] == f"registration-{hook.body['registrationId']}"


async def test_no_registration_webhook_by_default(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    async with cloud_for(app) as cloud:
        response = await harness.http.post(
            f"{cloud.url}/api/tpa-server/register",
            json={"packageName": PKG, "apiKey": app.api_key, "webhookUrl": app.webhook_url,
                  "serverUrls": []},
        )
        assert response.status_code == 201, response.text
        await app.expect_no_webhook("server_registration", 5 * SCALE)


async def test_request_settings_is_answered_with_settings_update(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    async with cloud_for(app) as cloud:
        glasses = await harness.glasses(cloud, EMAIL)
        await glasses.send_event("request_settings", sessionId=EMAIL)
        reply = await glasses.next_message("settings_update")
        assert reply["sessionId"] == EMAIL
        assert "brightness" in reply["settings"]


async def test_microphone_follows_audio_subscriptions_with_debounce(harness: Harness) -> None:
    # Timeline: subscribe audio -> mic on at once; unsubscribe -> mic off after the
    # debounce (mic_debounce_ms 1000 -> 0.1 s).
    app = await harness.app_server(PKG, subscriptions=[])
    async with cloud_for(app) as cloud:
        glasses = await harness.glasses(cloud, EMAIL)
        sock = await running_app(harness, glasses, app)
        await sock.subscribe(["audio_chunk", "transcription:en-US"])
        on = await glasses.next_message("microphone_state_change")
        assert on["isMicrophoneEnabled"] is True
        assert on["requiredData"] == ["pcm", "transcription"]
        await sock.subscribe([])
        off = await glasses.next_message("microphone_state_change")
        assert off["isMicrophoneEnabled"] is False


async def test_dashboard_mode_change_is_announced_to_running_apps(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    async with cloud_for(app) as cloud:
        glasses = await harness.glasses(cloud, EMAIL)
        sock = await running_app(harness, glasses, app)
        await sock.send_json({"type": "dashboard_mode_change", "mode": "expanded"})
        changed = await sock.next_message("dashboard_mode_changed")
        assert changed["mode"] == "expanded"
