"""Flapping app link: five 1 s cuts of the app link, one every 4 s.

Each cut resets the app sockets; the SDK reconnects about 1 s after each close (its
counter resets on every ack, §10.1), sometimes refused when it lands inside the next cut
and retried at 3 s. Every outage is shorter than ``app_grace_s`` (5 s), so the cloud only
moves between ``running`` and ``grace_period`` and rebinds (A2, A4) with no resurrection.
Expected on the reference cloud: **pass** — one recovery episode, every app back by the
deadline, no duplicate session or orphan socket from the stale closes (D2 off), nothing
lost after recovery.
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
    name="flapping-app-link",
    description="App link cut 1 s every 4 s, five times: reconnects without resurrection.",
    fleet=FLEET,
    time_scale=0.2,
    warmup_s=5.0,
    steps=(FaultStep(Link.APP, Down(), at_s=5.0, duration_s=1.0, repeat=5, every_s=4.0,
                     name="flap"),),
    recovery_window_s=10.0,
    quiesce_s=25.0,
    checks=(
        recovers(5),
        no_loss_after_recovery(),
        SUBSCRIPTIONS,
        NO_LEAKS,
        HEALTH,
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0"),
    ),
    tags=("regression", "app-link"),
)
