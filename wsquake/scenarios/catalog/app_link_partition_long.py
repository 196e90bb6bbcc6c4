"""App link partition, long: the SDK gives up and the cloud resurrects the app by webhook.

The app link is down for 8 s. The SDK's attempts at about 1, 3 and 7 s are all refused
and it gives up (``disconnected {permanent:true}``, §10.1). The scenario sets
``app_grace_s`` to 10 s so the grace outlives both the SDK's retries and the partition:
at 10 s the cloud resurrects the app (A5) and the AppServer opens a fresh session over
the healed link. With upstream's 5 s grace the resurrection webhook would land inside the
partition, both attempts would fail and the app would be lost (A3) — the
``app-link-partition-race`` scenario sits on that edge. Expected on the reference cloud:
**pass** — every app recovers through exactly one resurrection, about 2-3 s after the
link returns; data of the outage is lost by design (the stop procedure clears the grace
buffer), none after recovery; no duplicates, no leaks.
"""

from wsquake.scenarios.catalog._common import (
    FLEET,
    HEALTH,
    NO_LEAKS,
    SUBSCRIPTIONS,
    no_loss_after_recovery,
    recovers,
)
from wsquake.scenarios.model import CheckSpec, CloudSpec, Down, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="app-link-partition-long",
    description="App link down 8 s: the SDK gives up, resurrection by webhook restores apps.",
    fleet=FLEET,
    cloud=CloudSpec(timings={"app_grace_s": 10.0}),
    time_scale=0.1,
    warmup_s=5.0,
    steps=(FaultStep(Link.APP, Down(), at_s=5.0, duration_s=8.0, name="partition"),),
    recovery_window_s=15.0,
    checks=(
        recovers(8),
        no_loss_after_recovery(),
        SUBSCRIPTIONS,
        NO_LEAKS,
        HEALTH,
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0",
                     "lifecycle.resurrections >= sessions",
                     "lifecycle.resurrections <= 2 * sessions"),
    ),
    tags=("regression", "app-link"),
)
