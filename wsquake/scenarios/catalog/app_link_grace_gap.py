"""App link down 2 s: data for the app during its grace must be buffered, not dropped (D5).

The SDK's second attempt lands at about 3 s (PROTOCOL.md §8.2), inside the 5 s app grace;
meanwhile the glasses keep streaming. The reference cloud buffers what arrives for an app
in ``grace_period`` (``grace_buffer_messages``, §9.3 A4) and flushes it after the
reconnect, so every ``(user, stream, seq)`` reaches the app. Upstream (D5) dropped it:
the app sees a sequence gap equal to the outage. Expected on the reference cloud:
**pass** with nothing lost at all (``delivery.lost == 0``).
"""

import dataclasses

from wsquake.scenarios.catalog._common import FLEET, NO_LEAKS, SUBSCRIPTIONS
from wsquake.scenarios.model import CheckSpec, Down, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="app-link-grace-gap",
    description="App link down 2 s: what the app misses during its grace is buffered.",
    fleet=dataclasses.replace(FLEET, users=2),
    time_scale=0.1,
    warmup_s=5.0,
    steps=(FaultStep(Link.APP, Down(), at_s=5.0, duration_s=2.0, name="cut"),),
    recovery_window_s=10.0,
    checks=(
        CheckSpec.of("recovery", "recovery.never == 0"),
        CheckSpec.of("delivery", "delivery.lost_fault == 0", "delivery.lost_recovery == 0",
                     "delivery.lost_after_recovery == 0", "delivery.duplicated == 0"),
        SUBSCRIPTIONS,
        NO_LEAKS,
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0",
                     "lifecycle.resurrections == 0"),
    ),
    tags=("defects", "app-link"),
)
