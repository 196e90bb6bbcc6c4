"""``/metrics`` names and ``/api/sessions`` shape (§13)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from tests.cloud.conftest import Harness, running_app
from tests.cloud.peers import WebhookMode

EMAIL = "alice@example.com"
PKG = "com.example.echo"
SID = f"{EMAIL}-{PKG}"

GAUGES = {
    "wsquake_cloud_user_sessions": {"state"},
    "wsquake_cloud_glasses_connections": set(),
    "wsquake_cloud_app_connections": {"bound"},
    "wsquake_cloud_apps": {"state"},
    "wsquake_cloud_registrations": {"active"},
}
COUNTERS = {
    "wsquake_cloud_webhook_requests": {"type", "outcome"},
    "wsquake_cloud_app_start_failures": {"stage"},
    "wsquake_cloud_app_resurrections": set(),
    "wsquake_cloud_pong_timeouts": {"kind"},
    "wsquake_cloud_messages_dropped": {"reason"},
    "wsquake_cloud_display_events": {"outcome"},
    "wsquake_cloud_superseded_sockets": {"kind"},
    "wsquake_cloud_tpa_connection_errors": {"code"},
}


def _is_iso(value: object) -> bool:
    if not isinstance(value, str):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


async def _families(harness: Harness, cloud: Any) -> dict[str, Metric]:
    response = await harness.http.get(f"{cloud.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(response.text)}


async def test_metrics_exposes_every_gauge_and_counter_of_section_13(harness: Harness) -> None:
    cloud = await harness.cloud()
    families = await _families(harness, cloud)
    for name in GAUGES:
        assert families[name].type == "gauge", name
    for name in COUNTERS:
        assert families[name].type == "counter", name
    histogram = families["wsquake_cloud_webhook_latency_seconds"]
    assert histogram.type == "histogram"


async def test_metric_labels_match_section_13(harness: Harness) -> None:
    # Exercise every labelled counter at least once, then check the label names.
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, boot_card_ms=0)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await sock.display("hi")
    await glasses.next_message("display_event", where=lambda m: m["layout"].get("text") == "hi")
    bad = await harness.app_socket(cloud)
    await bad.send_init(SID, PKG, "wrong")
    await bad.wait_closed()
    families = await _families(harness, cloud)
    for name, labels in {**GAUGES, **COUNTERS}.items():
        for sample in families[name].samples:
            if sample.name.endswith("_created"):
                continue
            assert set(sample.labels) == labels, (name, sample)


async def test_gauges_follow_live_state(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    await running_app(harness, glasses, app)
    assert await harness.metric(cloud, "wsquake_cloud_glasses_connections") == 1
    assert await harness.metric(cloud, "wsquake_cloud_user_sessions", state="CONNECTED") == 1
    # The gauge agrees with /api/sessions (which may list a built-in dashboard app too).
    [user] = (await harness.sessions(cloud))["users"]
    running = sum(1 for a in user["apps"] if a["state"] == "running")
    assert running >= 1
    assert await harness.metric(cloud, "wsquake_cloud_apps", state="running") == running
    assert await harness.metric(cloud, "wsquake_cloud_app_connections", bound="true") == 1


async def test_webhook_outcomes_are_counted(harness: Harness) -> None:
    app = await harness.app_server(PKG, mode=WebhookMode.FAIL)
    cloud = await harness.cloud(app, app_start_timeout_s=100)
    glasses = await harness.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    await app.next_webhook("session_request")
    await app.next_webhook("session_request")
    await glasses.next_message(
        "app_state_change",
        where=lambda m: PKG not in m["userSession"]["loadingApps"]
        and PKG not in m["userSession"]["activeAppSessions"],
    )
    total = await harness.metric(
        cloud, "wsquake_cloud_webhook_requests_total", type="session_request"
    )
    assert total == 2
    ok = await harness.metric(
        cloud, "wsquake_cloud_webhook_requests_total", type="session_request", outcome="ok"
    )
    assert ok == 0


async def test_sessions_view_of_an_empty_cloud(harness: Harness) -> None:
    cloud = await harness.cloud()
    body = await harness.sessions(cloud)
    assert _is_iso(body["generatedAt"])
    assert body["profile"] == "fixed"
    assert body["connections"] == {"glasses": 0, "app": 0, "app_unbound": 0}
    assert body["users"] == []
    assert body["registrations"] == []


async def test_sessions_view_of_a_running_app(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    glasses = await harness.glasses(cloud, EMAIL)
    await running_app(harness, glasses, app)
    body = await harness.sessions(cloud)
    assert body["connections"] == {"glasses": 1, "app": 1, "app_unbound": 0}
    [user] = body["users"]
    assert set(user) >= {
        "userId",
        "state",
        "glassesSockets",
        "disconnectedAt",
        "transcribing",
        "apps",
    }
    assert user["userId"] == EMAIL
    assert user["state"] == "CONNECTED"
    assert user["glassesSockets"] == 1
    assert user["disconnectedAt"] is None
    assert isinstance(user["transcribing"], bool)
    [view] = [a for a in user["apps"] if a["packageName"] == PKG]
    assert set(view) >= {
        "packageName",
        "sessionId",
        "state",
        "tpaState",
        "sockets",
        "boundConn",
        "subscriptions",
        "lastPongAgeMs",
        "graceExpiresAt",
        "startedAt",
        "resurrections",
    }
    assert view["packageName"] == PKG
    assert view["sessionId"] == SID
    assert view["state"] == "running"
    assert view["tpaState"] == "CONNECTED"
    assert view["sockets"] == 1
    assert view["boundConn"] is not None
    assert view["subscriptions"] == ["button_press"]
    assert view["graceExpiresAt"] is None
    assert view["resurrections"] == 0


async def test_sessions_view_lists_registrations(harness: Harness) -> None:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app)
    response = await harness.http.post(
        f"{cloud.url}/api/tpa-server/register",
        json={
            "packageName": PKG,
            "apiKey": app.api_key,
            "webhookUrl": app.webhook_url,
            "serverUrls": ["ws://127.0.0.1:1/app-ws"],
        },
    )
    assert response.status_code == 201
    [reg] = (await harness.sessions(cloud))["registrations"]
    assert set(reg) >= {
        "registrationId",
        "packageName",
        "webhookUrl",
        "isActive",
        "lastSeen",
        "activeSessions",
    }
    assert reg["packageName"] == PKG
    assert reg["isActive"] is True
    assert reg["activeSessions"] == []
    assert await harness.metric(cloud, "wsquake_cloud_registrations", active="true") == 1
