"""Glasses partition past the grace: 70 s without the glasses, longer than the 60 s grace.

At 60 s the cloud disposes each user session (§9.2 ``CONNECTING → DISCONNECTING``):
apps get ``app_stopped`` and close 1000 ``"User session ended"`` (the SDK stops for
good), and — on the reference cloud, D13 off — a ``stop_request``. When the link heals the
Android client, whose backoff has grown to its 30 s cap (§10.2), reconnects; a fresh
session starts the persisted ``runningApps`` again (A1), so each app comes back through a
new ``session_request``. Expected on the reference cloud: **pass** — glasses and apps
recover within about 40 s of the heal (the backoff cap dominates), each app is started
once more (counted as one resurrection per app, by design), data of the outage was never
sent, nothing is lost after recovery, and no zombie session or stale subscription (D9)
remains.
"""

from wsquake.scenarios.catalog._common import (
    FLEET,
    HEALTH,
    NO_LEAKS,
    SUBSCRIPTIONS,
    no_loss_after_recovery,
    recovers,
)
from wsquake.scenarios.model import CheckSpec, Down, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="glasses-partition-past-grace",
    description="Glasses link down 70 s (> 60 s grace): sessions disposed, then rebuilt.",
    fleet=FLEET,
    time_scale=0.1,
    warmup_s=5.0,
    steps=(FaultStep(Link.GLASSES, Down(), at_s=5.0, duration_s=70.0, name="partition"),),
    recovery_window_s=45.0,
    checks=(
        recovers(40),
        no_loss_after_recovery(),
        SUBSCRIPTIONS,
        NO_LEAKS,
        HEALTH,
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0",
                     "lifecycle.resurrections <= 2 * sessions"),
    ),
    tags=("regression", "glasses-link"),
)
