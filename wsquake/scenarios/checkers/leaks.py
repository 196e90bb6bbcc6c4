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

No snapshot → every metric ``None`` and verdict ``unknown`` (e.g. a foreign cloud).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wsquake.history.frame import HistoryFrames
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
            "user_sessions", "app_sessions")
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
    summary = (f"{zombies} zombie session(s), {orphans} orphan app connection(s), {stuck} "
               f"stuck loading, connection growth {growth}")
    return CheckResult("leaks", Verdict.PASS, metrics, tuple(examples[:max_examples]), summary)
