"""App link half-close: the app sees its socket die at once, the cloud 3 s later (D2, D6).

``x-ws-close`` with code 0 cuts the app's side of every app-link connection (the SDK sees
1006 and reconnects after about 1 s, PROTOCOL.md §8.2); a ``slow_close`` on the
client→cloud direction delays the cloud's side of the same close by 3 s, so the new
socket's ``tpa_connection_init`` arrives while the cloud still holds the old one. The
reference cloud (§9.3 A4, §12 fixed profile) supersedes the old socket with 1008 and
matches its close by socket identity: the app stays ``running``, no resurrection, no
second socket. Upstream (D2) let that stale close unbind the live socket: the app goes
into ``grace_period`` with a live socket and is resurrected 5 s later; D6 kept both
sockets. Expected on the reference cloud: **pass** (every app recovers, no resurrection,
at most one socket per app).
"""

import dataclasses

from wsquake.faults.client import SlowClose, WsClose
from wsquake.scenarios.catalog._common import FLEET, SUBSCRIPTIONS, no_loss_after_recovery
from wsquake.scenarios.model import CheckSpec, Direction, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="app-link-half-close",
    description="App side of the app link cut at once, cloud side 3 s later: no resurrection.",
    fleet=dataclasses.replace(FLEET, users=2, event_rate_hz=10.0),
    time_scale=0.1,
    warmup_s=5.0,
    steps=(
        FaultStep(Link.APP, SlowClose(delay=3000), at_s=5.0, duration_s=8.0,
                  direction=Direction.UPSTREAM, name="late-close"),
        FaultStep(Link.APP, WsClose(code=0), at_s=5.2, duration_s=0.5,
                  direction=Direction.DOWNSTREAM, name="cut"),
    ),
    recovery_window_s=10.0,
    checks=(
        CheckSpec.of("recovery", "recovery.never == 0"),
        no_loss_after_recovery(),
        SUBSCRIPTIONS,
        CheckSpec.of("leaks", "leaks.zombie_sessions == 0", "leaks.orphan_app_connections == 0",
                     "leaks.stuck_loading == 0", "leaks.peak_app_sockets <= 1"),
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0",
                     "lifecycle.resurrections == 0"),
    ),
    tags=("defects", "app-link"),
)
