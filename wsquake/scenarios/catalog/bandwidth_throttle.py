"""Bandwidth throttle: the app link's downstream limited to 1 KB/s for 20 s.

The cloud's relay to the apps backs up behind the proxy; TCP flow control holds the data
in buffers, nothing is dropped and pongs (which share the link) still arrive well within
the 30 s deadline (§9.4). When the limit lifts, the backlog drains. Expected on the
reference cloud: **pass** — no disruption, no loss, no reordering, no leak; messages are
only late.
"""

from wsquake.faults.client import Bandwidth
from wsquake.scenarios.catalog._common import (
    CLEAN_LIFECYCLE,
    FLEET,
    HEALTH,
    NO_LEAKS,
    SUBSCRIPTIONS,
)
from wsquake.scenarios.model import CheckSpec, Direction, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="bandwidth-throttle",
    description="App link downstream throttled to 1 KB/s for 20 s: late, not lost.",
    fleet=FLEET,
    time_scale=0.1,
    warmup_s=5.0,
    steps=(FaultStep(Link.APP, Bandwidth(rate=1), at_s=5.0, duration_s=20.0,
                     direction=Direction.DOWNSTREAM, name="throttle"),),
    recovery_window_s=15.0,
    quiesce_s=5.0,
    checks=(
        CheckSpec.of("recovery", "recovery.never == 0", "recovery.unprovoked_losses == 0"),
        CheckSpec.of("delivery", "delivery.lost == 0", "delivery.duplicated == 0",
                     "delivery.reordered == 0"),
        SUBSCRIPTIONS,
        NO_LEAKS,
        HEALTH,
        CLEAN_LIFECYCLE,
    ),
    tags=("regression", "app-link"),
)
