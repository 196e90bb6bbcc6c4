"""``GET /api/sessions`` (PROTOCOL.md §13): a JSON view of the cloud's state, and the
gauge refresh for ``/metrics`` computed from the same state."""

from __future__ import annotations

from typing import Any

from wsquake.cloud import wire
from wsquake.cloud.core import CloudCore
from wsquake.cloud.defects import DEFECT_IDS, active_defects
from wsquake.cloud.model import AppRecord
from wsquake.cloud.transport import Connection, ConnKind
from wsquake.protocol.lifecycle import AppState, SessionState, tpa_state_for

__all__ = ["refresh_gauges", "sessions_snapshot"]


def _app_json(core: CloudCore, rec: AppRecord) -> dict[str, Any]:
    assert rec.state is not None
    tpa = tpa_state_for(rec.state, webhook_sent=rec.webhook_sent, start_failed=rec.start_failed)
    return {
        "packageName": rec.package,
        "sessionId": rec.session_id,
        "state": rec.state.value,
        "tpaState": tpa.value if tpa is not None else None,
        "sockets": len(rec.sockets),
        "boundConn": rec.conn.conn_id if rec.conn is not None else None,
        "subscriptions": [s.to_wire() for s in rec.subscriptions],
        "lastPongAgeMs": _pong_age_ms(rec.conn),
        "graceExpiresAt": (
            wire.iso_from_epoch(rec.grace_expires_at) if rec.grace_expires_at else None
        ),
        "startedAt": wire.iso_from_epoch(rec.started_at) if rec.started_at else None,
        "resurrections": rec.resurrections,
    }


def _pong_age_ms(conn: Connection | None) -> int | None:
    if conn is None or conn.liveness is None:
        return None
    return int(conn.liveness.pong_age() * 1000)


def sessions_snapshot(core: CloudCore) -> dict[str, Any]:
    app_total = sum(1 for c in core.connections if c.kind is ConnKind.APP and c.is_open)
    bound = sum(
        1
        for c in core.connections
        if c.kind is ConnKind.APP and c.is_open and _is_bound(core, c.binding, c)
    )
    users = []
    for user in core.users.values():
        users.append(
            {
                "userId": user.user_id,
                "state": user.state.value if user.state is not None else None,
                "glassesSockets": len(user.glasses_sockets),
                "disconnectedAt": (
                    wire.iso_from_epoch(user.disconnected_at) if user.disconnected_at else None
                ),
                "transcribing": core.is_transcribing(user),
                # project extra: the current glasses socket's last pong age (§9.4)
                "lastPongAgeMs": _pong_age_ms(user.glasses),
                "apps": [_app_json(core, rec) for rec in user.apps.values()],
            }
        )
    return {
        "generatedAt": wire.iso_now(),
        "profile": core.settings.defects.profile,
        # project extras: the defects in effect (§12), and D9's leftover subscription sets
        "defects": list(active_defects(core.settings)),
        "leakedSubscriptions": [
            {"userId": user_id, "packageName": package,
             "subscriptions": [s.to_wire() for s in subs]}
            for (user_id, package), subs in core.leaked_subscriptions.items()
        ],
        "connections": {
            "glasses": sum(
                1 for c in core.connections if c.kind is ConnKind.GLASSES and c.is_open
            ),
            "app": app_total,
            "app_unbound": app_total - bound,
        },
        "users": users,
        "registrations": [
            {
                "registrationId": r.registration_id,
                "packageName": r.package_name,
                "webhookUrl": r.webhook_url,
                "isActive": r.is_active,
                "lastSeen": wire.iso_from_epoch(r.last_seen_wall),
                "activeSessions": list(r.active_sessions),
            }
            for r in core.registrations.all()
        ],
    }


def _is_bound(core: CloudCore, binding: tuple[str, str] | None, conn: object) -> bool:
    if binding is None:
        return False
    found = core.find_app(*binding)
    return found is not None and found[1].conn is conn


def refresh_gauges(core: CloudCore) -> None:
    m = core.metrics
    snap = sessions_snapshot(core)
    for state in SessionState:
        m.user_sessions.labels(state=state.value).set(
            sum(1 for u in core.users.values() if u.state is state)
        )
    m.glasses_connections.set(snap["connections"]["glasses"])
    m.app_connections.labels(bound="true").set(
        snap["connections"]["app"] - snap["connections"]["app_unbound"]
    )
    m.app_connections.labels(bound="false").set(snap["connections"]["app_unbound"])
    for app_state in AppState:
        m.apps.labels(state=app_state.value).set(
            sum(1 for u in core.users.values() for r in u.apps.values() if r.state is app_state)
        )
    active = set(active_defects(core.settings))
    for name, ident in DEFECT_IDS.items():
        if name in active:
            m.defects.labels(name=name, id=ident).set(1)
    m.leaked_subscriptions.set(len(core.leaked_subscriptions))
    regs = core.registrations.all()
    m.registrations.labels(active="true").set(sum(1 for r in regs if r.is_active))
    m.registrations.labels(active="false").set(sum(1 for r in regs if not r.is_active))
