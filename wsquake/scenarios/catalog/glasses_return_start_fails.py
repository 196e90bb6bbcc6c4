"""Glasses come back after a dispose while the app link is down: a failed start stays failed (D10).

The glasses link is down 15 s with ``glasses_grace_s = 10``: the cloud disposes the user
sessions (PROTOCOL.md §9.2). When the glasses return, the new session starts the user's
persisted apps; the app link is down, so the SDK cannot connect and its webhook answers
500 at once, and with ``webhook_attempts = 1`` the start fails. Android glasses send
``connection_init`` about 1 s after the socket opens (§8.1). The reference cloud only
re-acks that init. Upstream (D10) ran the fresh session's app starts a second time: a
second ``session_request`` right after the failed one. Expected on the reference cloud:
**pass** with the apps lost by design and no start repeated after the app's error
(``lifecycle.repeated_requests == 0``).
"""

import dataclasses

from wsquake.scenarios.catalog._common import FLEET
from wsquake.scenarios.model import CheckSpec, CloudSpec, Down, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="glasses-return-start-fails",
    description="Glasses return after a dispose, app link down: a failed start is not rerun.",
    fleet=dataclasses.replace(FLEET, users=2),
    cloud=CloudSpec(timings={"glasses_grace_s": 10.0, "webhook_attempts": 1}),
    time_scale=0.1,
    warmup_s=5.0,
    steps=(
        FaultStep(Link.GLASSES, Down(), at_s=5.0, duration_s=15.0, name="partition"),
        FaultStep(Link.APP, Down(), at_s=18.0, duration_s=17.0, name="app-link-down"),
    ),
    recovery_window_s=10.0,
    checks=(
        CheckSpec.of("recovery", "recovery.glasses_never == 0"),
        CheckSpec.of("leaks", "leaks.zombie_sessions == 0"),
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0",
                     "lifecycle.repeated_requests == 0"),
    ),
    tags=("defects", "glasses-link"),
)
