"""``leaks``: after quiesce, what does the cloud still hold that no client uses?

From the last ``ok`` ``/api/sessions`` snapshot (time T); a client is *live* at T when
its last ``init ok`` before T is later than its last ``close`` before T.

* ``zombie_sessions``: user sessions (any state but ``DISCONNECTED``) with no live
  glasses client for that user.
* ``orphan_app_connections``: per app, ``sockets`` minus 1 if a live app client has its
  ``sessionId`` (else minus 0), summed (D6 duplicates, sockets left by dead clients).
* ``stuck_loading``: apps in state ``loading``.
* ``connection_growth``: glasses + app connections at T minus those in the last
  snapshot before the first fault (else the first snapshot).

Over every snapshot (evidence of PROTOCOL.md §12 defects; the examples name the user):

* ``peak_app_sockets``: the most sockets one app held (> 1: D6 duplicates).
* ``peak_glasses_sockets``: the most glasses sockets one user held (> 1: D8).
* ``leaked_subscriptions``: the most ``leakedSubscriptions`` entries (D9).

No snapshot → every metric ``None`` and verdict ``unknown`` (e.g. a foreign cloud).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wsquake.history.frame import HistoryFrames, Snapshot
from wsquake.scenarios.checkers.base import CheckResult, Example
from wsquake.scenarios.checkers.liveness import live_sessions
from wsquake.scenarios.model import Scenario
from wsquake.scenarios.thresholds import Verdict

__all__ = ["check_leaks"]


def check_leaks(
    frames: HistoryFrames, scenario: Scenario, options: Mapping[str, Any] | None = None
) -> CheckResult:
    options = options or {}
    max_examples = int(options.get("max_examples", 3))
    snapshots = frames.snapshots()
    keys = ("zombie_sessions", "orphan_app_connections", "stuck_loading", "connection_growth",
            "user_sessions", "app_sessions", "peak_app_sockets", "peak_glasses_sockets",
            "leaked_subscriptions")
    if not snapshots:
        return CheckResult("leaks", Verdict.UNKNOWN, dict.fromkeys(keys),
                           summary="no /api/sessions snapshot in the history")
    last = snapshots[-1]
    glasses = live_sessions(frames, "glasses", last.t)
    apps = live_sessions(frames, "app", last.t)
    examples: list[Example] = []
    zombies = 0
    for user in last.users:
        if str(user.get("state", "")).upper() == "DISCONNECTED":
            continue
        uid = str(user.get("userId", ""))
        if uid not in glasses:
            zombies += 1
            examples.append(Example("cloud", uid, "zombie_session",
                                    f"user session {uid} ({user.get('state')}) has no live "
                                    "glasses client"))
    orphans = stuck = 0
    all_apps = last.apps()
    for _, app in all_apps:
        sid = str(app.get("sessionId", ""))
        sockets = app.get("sockets", 0)
        sockets = int(sockets) if isinstance(sockets, int | float) else 0
        extra = max(0, sockets - (1 if sid in apps else 0))
        if extra:
            orphans += extra
            examples.append(Example("cloud", sid, "orphan_app_connection",
                                    f"{sockets} socket(s) held, live client: {sid in apps}"))
        if app.get("state") == "loading":
            stuck += 1
            examples.append(Example("cloud", sid, "stuck_loading", "app still loading"))
    faults = frames.faults
    first = int(faults["start_ns"].min()) if not faults.empty else None
    steady = [s for s in snapshots if first is None or s.t < first] or snapshots[:1]
    now_conns, then_conns = last.connections(), steady[-1].connections()
    growth = None if now_conns is None or then_conns is None else now_conns - then_conns
    metrics: dict[str, float | int | None] = {
        "zombie_sessions": zombies,
        "orphan_app_connections": orphans,
        "stuck_loading": stuck,
        "connection_growth": growth,
        "user_sessions": len(last.users),
        "app_sessions": len(all_apps),
    }
    peaks, peak_examples, notes = _peaks(snapshots)
    metrics.update(peaks)
    summary = (f"{zombies} zombie session(s), {orphans} orphan app connection(s), {stuck} "
               f"stuck loading, connection growth {growth}")
    if notes:
        summary += "; " + "; ".join(notes)
    examples = peak_examples + examples
    return CheckResult("leaks", Verdict.PASS, metrics, tuple(examples[:max_examples]), summary)


def _count(value: object) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _peaks(snapshots: list[Snapshot]) -> tuple[dict[str, int], list[Example], list[str]]:
    """Peaks over every snapshot: sockets per app, glasses sockets per user, leaked sets."""
    app_peak = glasses_peak = leaked_peak = 0
    app_ex: Example | None = None
    glasses_ex: Example | None = None
    leaked_ex: Example | None = None
    t0 = snapshots[0].t
    for snap in snapshots:
        at = f"{(snap.t - t0) / 1e9:.1f} wall s after the first probe"
        for user in snap.users:
            n = _count(user.get("glassesSockets"))
            if n > glasses_peak:
                glasses_peak = n
                uid = str(user.get("userId", ""))
                glasses_ex = Example("cloud", uid, "extra_glasses_sockets",
                                     f"user {uid} held {n} glasses sockets ({at})")
        for _uid, app in snap.apps():
            n = _count(app.get("sockets"))
            if n > app_peak:
                app_peak = n
                sid = str(app.get("sessionId", ""))
                app_ex = Example("cloud", sid, "extra_app_sockets",
                                 f"app session {sid} held {n} sockets ({app.get('state')}, {at})")
        leaked = snap.body.get("leakedSubscriptions")
        if isinstance(leaked, list) and len(leaked) > leaked_peak:
            leaked_peak = len(leaked)
            first = leaked[0] if isinstance(leaked[0], dict) else {}
            leaked_ex = Example(
                "cloud", str(first.get("userId", "")), "leaked_subscriptions",
                f"{len(leaked)} subscription set(s) kept after dispose, e.g. "
                f"{first.get('userId')} {first.get('packageName')}: "
                f"{first.get('subscriptions')} ({at})")
    examples: list[Example] = []
    notes: list[str] = []
    if app_peak > 1 and app_ex is not None:
        examples.append(app_ex)
        notes.append(f"up to {app_peak} sockets for one app")
    if glasses_peak > 1 and glasses_ex is not None:
        examples.append(glasses_ex)
        notes.append(f"up to {glasses_peak} glasses sockets for one user")
    if leaked_peak and leaked_ex is not None:
        examples.append(leaked_ex)
        notes.append(f"{leaked_peak} leaked subscription set(s)")
    metrics = {"peak_app_sockets": app_peak, "peak_glasses_sockets": glasses_peak,
               "leaked_subscriptions": leaked_peak}
    return metrics, examples, notes
