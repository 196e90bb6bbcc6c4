"""Reconnect storm: every glasses and app socket of a 25-user fleet is cut at once.

A 1 s cut of both links makes every client reconnect together: 25 glasses with jittered
Android backoff (§10.2) and 25 SDK sessions retrying at about 1 s (§10.1), all inside
their graces (60 s and 5 s). It shows the cloud handles a burst of upgrades, inits and
re-subscriptions without rejecting, duplicating or leaking. Expected on the reference
cloud: **pass** — every client recovers (p95 within 8 s), no resurrection, no duplicate
session, nothing lost after recovery (in-flight messages on the cut sockets may be).
"""

from wsquake.scenarios.catalog._common import (
    HEALTH,
    NO_LEAKS,
    SUBSCRIPTIONS,
    no_loss_after_recovery,
    recovers,
)
from wsquake.scenarios.model import CheckSpec, Down, FaultStep, FleetSpec, Link, Scenario

SCENARIO = Scenario(
    name="reconnect-storm",
    description="Both links cut 1 s for a 25-user fleet: everyone reconnects at once.",
    fleet=FleetSpec(users=25, apps_per_user=1, event_rate_hz=1.0, probe_interval_s=3.0),
    time_scale=0.2,
    warmup_s=5.0,
    steps=(
        FaultStep(Link.GLASSES, Down(), at_s=5.0, duration_s=1.0, name="glasses-cut"),
        FaultStep(Link.APP, Down(), at_s=5.0, duration_s=1.0, name="app-cut"),
    ),
    recovery_window_s=15.0,
    quiesce_s=25.0,
    checks=(
        recovers(8),
        no_loss_after_recovery(),
        SUBSCRIPTIONS,
        NO_LEAKS,
        HEALTH,
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0",
                     "lifecycle.resurrections == 0"),
    ),
    tags=("regression", "load"),
)
