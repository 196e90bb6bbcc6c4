"""App link 6 s slow during a resurrection start: a timed-out start is not retried (D12).

The app link is down 8 s, so the SDK gives up (PROTOCOL.md §8.2) and the cloud resurrects
the app when the 10 s app grace ends (§9.3 A5). From the heal on, the app link delays
everything the app sends by 6 s, so the SDK's webhook handler waits for its upgrade and
init longer than 5 s and answers 500 "Failed to connect" — after the cloud's 5 s start
timeout already failed the start (``TIMEOUT``, §7.2). The reference cloud abandons the
timed-out start's webhook, so the late 500 is never retried. Upstream (D12) kept the
webhook running and retried it: a second ``session_request`` for the same session about
1 s after the 500. Expected on the reference cloud: **pass** with the apps lost by design
and no start retried after the app's error (``lifecycle.repeated_requests == 0``).
"""

import dataclasses

from wsquake.faults.client import Latency
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
    name="app-start-slow-link",
    description="App link +6 s during a resurrection start: a timed-out start is not retried.",
    fleet=dataclasses.replace(FLEET, users=2),
    cloud=CloudSpec(timings={"app_grace_s": 10.0}),
    time_scale=0.1,
    warmup_s=5.0,
    steps=(
        FaultStep(Link.APP, Down(), at_s=5.0, duration_s=8.0, name="app-cut"),
        FaultStep(Link.APP, Latency(6000), at_s=13.0, duration_s=12.0,
                  direction=Direction.UPSTREAM, name="slow-app-link"),
    ),
    recovery_window_s=10.0,
    checks=(
        CheckSpec.of("recovery"),  # apps are lost by design: echoes cannot come back
        HEALTH,
        CheckSpec.of("leaks", "leaks.zombie_sessions == 0"),
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0",
                     "lifecycle.repeated_requests == 0"),
    ),
    tags=("defects", "app-link"),
)
