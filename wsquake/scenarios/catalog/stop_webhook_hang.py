"""Stop webhook hangs during a resurrection: the stop must stay bounded (D4).

The app link is down 8 s, so the SDK gives up (PROTOCOL.md §8.2) and the cloud
resurrects the app when the 10 s app grace ends (§9.3 A5): ``stop_request`` first, then
``session_request``. The webhook link is blackholed for 15 s, so the stop webhook is
accepted but never answered. The reference cloud bounds it by ``stop_webhook_timeout_s``
(10 s) and then sends ``session_request`` through the healed link: every app is back about
10 s after the heal. Upstream (D4) awaited the stop with no timeout: the app sticks in
``stopping`` and resurrection never reaches ``session_request``. Expected on the
reference cloud: **pass** (every app recovered before the recovery deadline).
"""

import dataclasses

from wsquake.faults.client import Timeout
from wsquake.scenarios.catalog._common import FLEET, HEALTH
from wsquake.scenarios.model import CheckSpec, CloudSpec, Down, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="stop-webhook-hang",
    description="Stop webhook never answered during resurrection: bounded by its timeout.",
    fleet=dataclasses.replace(FLEET, users=2),
    cloud=CloudSpec(timings={"app_grace_s": 10.0}),
    time_scale=0.1,
    warmup_s=5.0,
    steps=(
        FaultStep(Link.APP, Down(), at_s=5.0, duration_s=8.0, name="app-cut"),
        FaultStep(Link.WEBHOOK, Timeout(0), at_s=5.0, duration_s=15.0, name="webhook-hole"),
    ),
    recovery_window_s=20.0,
    checks=(
        CheckSpec.of("recovery", "recovery.never == 0", "recovery.app_never == 0"),
        HEALTH,
        CheckSpec.of("leaks", "leaks.zombie_sessions == 0", "leaks.stuck_loading == 0"),
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0"),
    ),
    tags=("defects", "webhook"),
)
