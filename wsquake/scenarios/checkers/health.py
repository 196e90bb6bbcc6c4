"""``health``: for blackholed links, how long until the cloud closed the dead connection.

Blackhole windows are fault windows on a WebSocket link (``glasses-link``,
``app-link``; the webhook link carries no socket to detect) whose toxic is in ``toxics``
(option; default ``timeout`` — Toxiproxy's blackhole — and ``blackhole``). For each
window [S, E] the *affected* sessions are those healthy in the last ``/api/sessions``
snapshot before S (glasses-link: users ``CONNECTED``; app-link: apps ``running`` with a
socket — socketless system apps such as the dashboard have nothing to detect) and the
cloud **detected** the loss at the first snapshot at or after S
where the session no longer is (user not ``CONNECTED`` or ``glassesSockets == 0``; app
not ``running``, ``sockets == 0`` or another ``boundConn``), or is gone.

The cloud must detect a dead socket within ``pong_deadline_s + ping_interval_s`` (plus
``close_handshake_timeout_s``) of its last pong (PROTOCOL.md §9.4): ``expected_max_s``.
A window at least that long whose session was never detected by its end + the slack is
``undetected``; shorter windows are ``too_short`` (not judged). Detection times are
measured on snapshots, so they are late by up to one probe interval: the slack (option
``slack_s``, default the largest gap between snapshots, in scenario s) is allowed.

Metrics: ``detect_p50_s``, ``detect_p95_s``, ``detect_max_s``, ``undetected``,
``affected``, ``too_short``, ``blackholes``, ``expected_max_s``, ``slack_s``. The check
fails on ``undetected > 0`` or ``detect_max_s > expected_max_s + slack_s``; it passes
with ``None`` metrics when no blackhole ran and is ``unknown`` without snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from wsquake.history.frame import HistoryFrames, Snapshot
from wsquake.scenarios.checkers.base import TARGET_ROLES, CheckResult, Example, percentile
from wsquake.scenarios.model import Scenario
from wsquake.scenarios.thresholds import Verdict

__all__ = ["check_health"]

_WS_LINKS = ("glasses-link", "app-link")


def _healthy(snap: Snapshot, roles: frozenset[str]) -> dict[str, tuple[str, Any]]:
    out: dict[str, tuple[str, Any]] = {}
    for user in snap.users:
        if "glasses" in roles and user.get("state") == "CONNECTED":
            out[f"glasses:{user.get('userId')}"] = ("glasses", None)
    if "app" in roles:
        for _, app in snap.apps():
            sockets = app.get("sockets")
            if app.get("state") == "running" and isinstance(sockets, int) and sockets > 0:
                out[f"app:{app.get('sessionId')}"] = ("app", app.get("boundConn"))
    return out


def _lost(snap: Snapshot, key: str, bound: Any) -> bool:
    role, ident = key.split(":", 1)
    if role == "glasses":
        for user in snap.users:
            if str(user.get("userId")) == ident:
                return user.get("state") != "CONNECTED" or user.get("glassesSockets") == 0
        return True
    for _, app in snap.apps():
        if str(app.get("sessionId")) == ident:
            return (app.get("state") != "running" or app.get("sockets") == 0
                    or app.get("boundConn") != bound)
    return True


def check_health(
    frames: HistoryFrames, scenario: Scenario, options: Mapping[str, Any] | None = None
) -> CheckResult:
    options = options or {}
    toxics = tuple(options.get("toxics", ("timeout", "blackhole")))
    cloud = scenario.cloud
    expected_max = (cloud.timing("pong_deadline_s") + cloud.timing("ping_interval_s")
                    + cloud.timing("close_handshake_timeout_s"))
    if cloud.timing("pong_deadline_s") == 0:
        expected_max = float("inf")
    keys = ("detect_p50_s", "detect_p95_s", "detect_max_s", "undetected", "affected",
            "too_short", "blackholes", "expected_max_s", "slack_s")
    faults = frames.faults
    holes = (faults[faults["toxic"].isin(toxics) & faults["target"].isin(_WS_LINKS)]
             if not faults.empty else faults)
    metrics: dict[str, float | int | None] = dict.fromkeys(keys)
    metrics["blackholes"] = len(holes)
    metrics["expected_max_s"] = expected_max if np.isfinite(expected_max) else None
    if holes.empty:
        return CheckResult("health", Verdict.PASS, metrics,
                           summary="no blackhole fault: nothing to detect")
    snapshots = frames.snapshots()
    if not snapshots:
        return CheckResult("health", Verdict.UNKNOWN, metrics,
                           summary="blackholes ran but there is no /api/sessions snapshot")
    scale = scenario.time_scale
    times = np.array([s.t for s in snapshots], dtype="int64")
    gaps = np.diff(times) / 1e9 / scale
    slack = float(options.get("slack_s", float(gaps.max()) if gaps.size else 0.0))
    metrics["slack_s"] = round(slack, 6)
    detect: list[float] = []
    undetected = affected = too_short = 0
    examples: list[Example] = []
    for target, start, end in zip(holes["target"], holes["start_ns"], holes["end_ns"],
                                  strict=True):
        roles = TARGET_ROLES.get(str(target), frozenset({"glasses", "app"}))
        prior = [s for s in snapshots if s.t < start]
        if not prior:
            continue
        healthy = _healthy(prior[-1], roles)
        later = [s for s in snapshots if s.t >= start]
        judged = (end - start) / 1e9 / scale >= expected_max
        horizon = end + (slack * scale * 1e9)
        for key, (_, bound) in healthy.items():
            affected += 1
            seen = next((s for s in later if _lost(s, key, bound)), None)
            if seen is not None and (seen.t <= horizon or not judged):
                detect.append((seen.t - start) / 1e9 / scale)
            elif judged:
                undetected += 1
                examples.append(Example("cloud", key, "undetected",
                                        f"still healthy in the cloud after a "
                                        f"{(end - start) / 1e9 / scale:.1f} s blackhole"))
            else:
                too_short += 1
    metrics.update(
        detect_p50_s=percentile(detect, 50),
        detect_p95_s=percentile(detect, 95),
        detect_max_s=percentile(detect, 100),
        undetected=undetected,
        affected=affected,
        too_short=too_short,
    )
    late = metrics["detect_max_s"] is not None and float(metrics["detect_max_s"]) > (
        expected_max + slack)
    verdict = Verdict.FAIL if undetected or late else Verdict.PASS
    if affected == 0:
        verdict = Verdict.UNKNOWN
    bound = (f"expected ≤ {expected_max:g} + {slack:.2f} s slack"
             if np.isfinite(expected_max) else "no pong deadline configured (D3)")
    summary = (f"{affected} session(s) behind {len(holes)} blackhole(s): detected p95 "
               f"{metrics['detect_p95_s']} s, max {metrics['detect_max_s']} s ({bound}), "
               f"{undetected} undetected")
    return CheckResult("health", verdict, metrics, tuple(examples[:3]), summary)
