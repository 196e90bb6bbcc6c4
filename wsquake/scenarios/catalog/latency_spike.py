"""Latency spike: 2 s of added latency each way on the app link for 10 s.

Nothing closes: a 4 s round trip is far below the 30 s pong deadline (§9.4) and the SDK
has no read deadline (§10.1), so the app sockets stay bound and ``running``; messages
arrive late but in order over TCP. Expected on the reference cloud: **pass** — no
connection is disrupted, nothing is lost, duplicated or reordered, no resurrection.
"""

from wsquake.faults.client import Latency
from wsquake.scenarios.catalog._common import (
    CLEAN_LIFECYCLE,
    FLEET,
    HEALTH,
    NO_LEAKS,
    SUBSCRIPTIONS,
    undisturbed,
)
from wsquake.scenarios.model import CheckSpec, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="latency-spike",
    description="App link +2 s latency each way for 10 s: slow, but nothing breaks.",
    fleet=FLEET,
    time_scale=0.1,
    warmup_s=5.0,
    steps=(FaultStep(Link.APP, Latency(2000), at_s=5.0, duration_s=10.0, name="spike"),),
    recovery_window_s=10.0,
    quiesce_s=5.0,
    checks=(
        undisturbed(),
        CheckSpec.of("delivery", "delivery.lost == 0", "delivery.duplicated == 0",
                     "delivery.reordered == 0"),
        SUBSCRIPTIONS,
        NO_LEAKS,
        HEALTH,
        CLEAN_LIFECYCLE,
    ),
    tags=("smoke", "app-link"),
)
