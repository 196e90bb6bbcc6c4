"""App link partition race: the app grace expires between the SDK's retries.

The app link is down for 5.5 s. The SDK's attempts at about 1 s and 3 s are refused and
its third would come at about 7 s (§10.1); the cloud's 5 s ``app_grace_s`` expires first,
so it resurrects the app (A5: ``stop_request``, then ``session_request`` with the same
sessionId). The first webhook attempt's connect is refused (the SDK answers 500, D12
path), the retry 1 s later finds the link back; the AppServer replaces the reconnecting
session, so the SDK's third attempt never happens. This is the D6 race; the reference
cloud lets the newer init supersede any older socket. Expected: **pass** — every app
recovers (via one resurrection each, by design), no duplicate session, no leak; the data
of the grace period is dropped by the stop procedure of the resurrection (§9.3 A5), so
loss during the fault and recovery is allowed but none after recovery.
"""

from wsquake.scenarios.catalog._common import (
    FLEET,
    HEALTH,
    NO_LEAKS,
    no_loss_after_recovery,
    recovers,
)
from wsquake.scenarios.model import CheckSpec, Down, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="app-link-partition-race",
    description="App link down 5.5 s: resurrection at the 5 s grace races the SDK's retries.",
    fleet=FLEET,
    time_scale=0.2,
    warmup_s=5.0,
    steps=(FaultStep(Link.APP, Down(), at_s=5.0, duration_s=5.5, name="partition"),),
    recovery_window_s=15.0,
    quiesce_s=25.0,
    checks=(
        recovers(8),
        no_loss_after_recovery(),
        CheckSpec.of("subscriptions", "subscriptions.restored_rate >= 1"),
        NO_LEAKS,
        HEALTH,
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0",
                     "lifecycle.resurrections <= 2 * sessions"),
    ),
    tags=("regression", "app-link"),
)
