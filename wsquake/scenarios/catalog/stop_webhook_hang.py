"""Stop webhook hangs during a resurrection: the stop must stay bounded (D4).

The app link is down 8 s, so the SDK gives up (PROTOCOL.md §8.2) and the cloud
resurrects the app when the 10 s app grace ends (§9.3 A5): ``stop_request`` first, then
``session_request``. Around that moment the webhook link drops every byte the cloud sends
(``x-drop-chunk``) without closing anything, so the stop webhook is accepted but never
answered, and its connection stays open. The reference cloud bounds the stop by
``stop_webhook_timeout_s`` (10 s) and then sends ``session_request`` through the clean
link: every app is back about 10 s after the grace. Upstream (D4) awaited the stop with
no timeout: the app sticks in ``stopping`` and resurrection never reaches
``session_request``. Expected on the reference cloud: **pass** (every app recovered
before the recovery deadline).
"""

import dataclasses

from wsquake.faults.client import DropChunk
from wsquake.scenarios.catalog._common import FLEET, HEALTH
from wsquake.scenarios.model import (
    CheckSpec,
    CloudSpec,
    Direction,
    Down,
    FaultStep,
    Link,
    Scenario,
)

SCENARIO = Scenario(
    name="stop-webhook-hang",
    description="Stop webhook never answered during resurrection: bounded by its timeout.",
    fleet=dataclasses.replace(FLEET, users=2),
    cloud=CloudSpec(timings={"app_grace_s": 10.0}),
    time_scale=0.1,
    warmup_s=5.0,
    steps=(
        FaultStep(Link.APP, Down(), at_s=5.0, duration_s=8.0, name="app-cut"),
        FaultStep(Link.WEBHOOK, DropChunk(probability=1.0), at_s=13.0, duration_s=4.0,
                  direction=Direction.UPSTREAM, name="webhook-drop"),
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
