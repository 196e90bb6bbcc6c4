"""App link drop: a 0.5 s cut of the app link; the SDK's own reconnect wins the race.

The proxy resets every app socket. The cloud moves each app to ``grace_period`` (A4) and
keeps its subscriptions, buffering data (D5 off); the SDK reconnects about 1 s after the
close with the same sessionId (§10.1), well inside ``app_grace_s`` (5 s), so A2 rebinds
it and the buffer is flushed. Expected on the reference cloud: **pass** — every app
recovers in about 1-2 s, no resurrection, no duplicate session, nothing lost after
recovery; only messages already in flight on the reset sockets may be lost (at most two
per app session).
"""

from wsquake.scenarios.catalog._common import (
    CLEAN_LIFECYCLE,
    FLEET,
    HEALTH,
    NO_LEAKS,
    SUBSCRIPTIONS,
    no_loss_after_recovery,
    recovers,
)
from wsquake.scenarios.model import Down, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="app-link-drop",
    description="A 0.5 s app-link cut: the SDK reconnects within the app grace period.",
    fleet=FLEET,
    time_scale=0.1,
    warmup_s=5.0,
    steps=(FaultStep(Link.APP, Down(), at_s=5.0, duration_s=0.5, name="cut"),),
    recovery_window_s=10.0,
    checks=(
        recovers(4),
        no_loss_after_recovery("delivery.lost_fault <= 2 * sessions"),
        SUBSCRIPTIONS,
        NO_LEAKS,
        HEALTH,
        CLEAN_LIFECYCLE,
    ),
    tags=("smoke", "app-link"),
)
