"""Glasses link drop: a 2 s cut of the glasses link, well inside the 60 s glasses grace.

The proxy resets every glasses socket; the cloud moves each user session to
``CONNECTING`` and arms ``glasses_grace_s`` (§9.2), leaving the apps and their sockets
alone. The Android client retries with ``1000·1.5^n + U(0,1000)`` ms (§10.2) and sends
``connection_init`` 1 s after opening; the session goes back to ``CONNECTED`` and the
current display is re-sent. Messages the glasses could not write while cut were never
sent, so they are not losses. Expected on the reference cloud: **pass** — every glasses
client recovers within about 2-5 s (echo probes flow again), apps are not affected, no
resurrection, nothing lost after recovery (at most two in-flight messages per user).
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
    name="glasses-link-drop",
    description="A 2 s glasses-link cut: glasses reconnect inside the 60 s grace.",
    fleet=FLEET,
    time_scale=0.1,
    warmup_s=5.0,
    steps=(FaultStep(Link.GLASSES, Down(), at_s=5.0, duration_s=2.0, name="cut"),),
    recovery_window_s=10.0,
    checks=(
        recovers(6),
        no_loss_after_recovery("delivery.lost_fault <= 2 * users"),
        SUBSCRIPTIONS,
        NO_LEAKS,
        HEALTH,
        CLEAN_LIFECYCLE,
    ),
    tags=("smoke", "glasses-link"),
)
