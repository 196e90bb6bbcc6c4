"""App link 6 s slow while the app server restarts: a timed-out start is not retried (D12).

The app server restarts; restart recovery sends ``session_request`` (PROTOCOL.md §9.3).
The app link delays the app's upgrade and init by 6 s, so the SDK's webhook handler gives
up after 5 s and answers 500 "Failed to connect" — after the cloud's 5 s start timeout
already failed the start (``TIMEOUT``, §7.2). The reference cloud abandons the timed-out
start's webhook, so the late 500 is never retried. Upstream (D12) kept the webhook
running and retried it: a second ``session_request`` for the same session about 1 s
later. Expected on the reference cloud: **pass** with apps lost by design and no start
retried after the app's error (``lifecycle.repeated_requests == 0``).
"""

import dataclasses

from wsquake.faults.client import Latency
from wsquake.scenarios.catalog._common import FLEET, HEALTH
from wsquake.scenarios.model import (
    CheckSpec,
    Direction,
    FaultStep,
    Link,
    ProcessAction,
    ProcessStep,
    ProcessTarget,
    Scenario,
)

SCENARIO = Scenario(
    name="app-start-slow-link",
    description="App link +6 s during an app-server restart: a timed-out start is not retried.",
    fleet=dataclasses.replace(FLEET, users=2),
    time_scale=0.1,
    warmup_s=5.0,
    steps=(
        FaultStep(Link.APP, Latency(6000), at_s=4.0, duration_s=20.0,
                  direction=Direction.UPSTREAM, name="slow-app-link"),
        ProcessStep(ProcessTarget.APPS, ProcessAction.RESTART,
                    at_s=5.0, duration_s=1.0, name="restart"),
    ),
    recovery_window_s=10.0,
    checks=(
        CheckSpec.of("recovery", "recovery.glasses_never == 0"),
        HEALTH,
        CheckSpec.of("leaks", "leaks.zombie_sessions == 0"),
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0",
                     "lifecycle.repeated_requests == 0"),
    ),
    tags=("defects", "webhook"),
)
