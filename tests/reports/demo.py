"""A richer synthetic run for the browser test and the README screenshot.

Timeline (scenario seconds, time scale 1, recovery window 5 s): four users, glasses and one
app each, up at 0-0.4; head_position every 0.5 s and an echo probe every 2 s from 1 to
40; fault ``0-app-link-down`` on ``app-link`` in [15, 18]; the apps lose their sockets at
15.1-15.4 and come back at 18.4 (user 1), 19.0 (user 2) and 26.0 (user 3: late); user 4's
app never does. Cloud probes every 2 s. The checks are the real checkers' results.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.scenarios.synth import Synth, app_entry, session_body, user_entry
from wsquake.scenarios.checkers import run_checks
from wsquake.scenarios.model import Scenario

from .rundirs import scenario, write_run

USERS = [f"user-{i:04d}@example.com" for i in range(1, 5)]
BACK = {USERS[0]: 18.4, USERS[1]: 19.0, USERS[2]: 26.0}   # user 4: never
FAULT = (15.0, 18.0)


def demo_history(seed: int = 7) -> Synth:
    rng = random.Random(seed)
    h = Synth()
    for i, user in enumerate(USERS):
        sid = f"{user}-com.wsquake.app1"
        h.add(0.05 + i * 0.1, "apps-0", "webhook", "ok", sid, 0, request="session_request",
              status=200)
        h.glasses_up(user, 1, at=0.1 + i * 0.1)
        h.app_up(sid, 1, at=0.15 + i * 0.1, streams="head_position")
        h.app_loss(sid, 1, at=15.1 + i * 0.1)
        h.add(15.2 + i * 0.1, "apps-0", "reconnect_wait", "info", sid, 1, attempt=1,
              delay_s=1.0)
        back = BACK.get(user)
        if back is not None:
            h.app_up(sid, 2, at=back, streams="head_position")
        t = 1.0
        while t <= 40.0:
            seq = h.send(t, user, "head_position")
            connected = t < 15.1 + i * 0.1 or (back is not None and t >= back)
            if connected:
                h.receive(t + rng.uniform(0.01, 0.05), sid, user, "head_position", seq,
                          1 if t < 15 else 2)
            if abs(t / 2 - round(t / 2)) < 1e-9:
                slow = FAULT[0] <= t <= FAULT[1] + 3
                h.echo(t + 0.01 * i, user, rtt=rng.uniform(0.15, 0.4) if slow
                       else rng.uniform(0.01, 0.05))
            t = round(t + 0.5, 9)
    for k in range(21):
        t = 2.0 * k + 0.5
        apps = sum(1 for j, u in enumerate(USERS)
                   if t < 15.1 + j * 0.1 or (u in BACK and t >= BACK[u]))
        dropped = 0.0 if t < FAULT[0] else min(t - FAULT[0], 3.0) * 8
        body = session_body([user_entry(u, apps=[app_entry(f"{u}-com.wsquake.app1")])
                             for u in USERS], glasses=4, app=apps)
        h.add(t, "runner", "cloud_probe", "ok", sessions=4, apps=8, loading=0, running=8,
              glasses_connections=4, app_connections=apps, app_unbound=0,
              m_messages_dropped_total=dropped, m_app_resurrections_total=0.0,
              m_webhook_requests_total=4.0, body=json.dumps(body, separators=(",", ":")))
    h.fault("0-app-link-down", "app-link", "down", *FAULT)
    return h


def write_demo_run(parent: Path) -> Path:
    """A one-scenario run directory (``failing``: one app never recovers)."""
    history = demo_history()
    spec = Scenario(name="app-link-drop", description="demo", recovery_window_s=5.0)
    checks = [r.to_json() for r in run_checks(history.frames(), spec)]
    entry = scenario("app-link-drop", checks, history=history, duration_s=42.0)
    root = write_run(parent, [entry], run_id="20261127-020000-app-link-drop-demo")
    (root / "app-link-drop" / "scenario.json").write_text(
        json.dumps({"name": "app-link-drop", "time_scale": 1.0, "recovery_window_s": 5.0}),
        "utf-8")
    return root
