"""WebSocket frame loss: the proxy drops 10 % of the text messages sent to the apps.

The proxy's ``x-ws-drop`` extension removes whole WebSocket text messages on the app
link's downstream (control frames pass, so pings and pongs still work). The protocol has
no application-level acknowledgement or replay (§6), so each dropped message is simply
lost; the sockets stay up. The thresholds say so explicitly: losses during the fault are
expected (``delivery.lost_fault >= 1`` proves the fault bit), none outside it, no
disruption. Expected on the reference cloud: **pass**. The drop is only meaningful on
uncompressed messages: under permessage-deflate with context takeover, dropping one
message desynchronises the shared compression context and every later message on that
socket decodes to garbage (upstream's ``ws`` servers do not negotiate compression by
default), which this scenario then reports as data that stopped without a close.
"""

from wsquake.faults.client import WsDrop
from wsquake.scenarios.catalog._common import (
    CLEAN_LIFECYCLE,
    FLEET,
    HEALTH,
    NO_LEAKS,
    SUBSCRIPTIONS,
    undisturbed,
)
from wsquake.scenarios.model import CheckSpec, Direction, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="ws-frame-loss",
    description="10 % of the app link's downstream text messages dropped for 15 s.",
    fleet=FLEET,
    time_scale=0.1,
    warmup_s=5.0,
    steps=(FaultStep(Link.APP, WsDrop(probability=0.1, kind="text"), at_s=5.0,
                     duration_s=15.0, direction=Direction.DOWNSTREAM, name="drop"),),
    recovery_window_s=10.0,
    quiesce_s=5.0,
    checks=(
        undisturbed(),
        CheckSpec.of("delivery", "delivery.lost_fault >= 1", "delivery.lost_steady == 0",
                     "delivery.lost_recovery == 0", "delivery.lost_after == 0",
                     "delivery.duplicated == 0"),
        SUBSCRIPTIONS,
        NO_LEAKS,
        HEALTH,
        CLEAN_LIFECYCLE,
    ),
    tags=("regression", "framing"),
)
