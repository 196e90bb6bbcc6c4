"""App link cut, then blackholed 6 s: a reconnect attempt that hangs must not stall the SDK (D14).

The app link goes down for 0.3 s (every app socket reset) and then drops every byte for
6 s (``x-drop-chunk`` both ways: connections are accepted and never closed, so a lost
upgrade stays lost after the heal), so the SDK's first reconnect attempt (about 1 s
after the close, PROTOCOL.md §8.2) connects but never gets its ack.
The app grace is 20 s, so the cloud waits for the SDK.
The reference SDK behaviour (``sdk.hung_attempt_stalls`` off) aborts the attempt after
the 5 s ack timeout and the next attempt, after the heal, gets through: the app is back
a few seconds after the heal. Upstream's SDK (D14) waits on the hung attempt until the OS
gives up: no further attempt, no permanent disconnect, and only the cloud's resurrection
at the end of the grace brings the app back. Expected on the reference cloud: **pass**
(every app back within 8 s of the heal).
"""

import dataclasses

from wsquake.faults.client import DropChunk
from wsquake.scenarios.catalog._common import FLEET, HEALTH, NO_LEAKS
from wsquake.scenarios.model import CheckSpec, CloudSpec, Down, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="app-link-reset-blackhole",
    description="App link cut, then blackholed 6 s: apps must be back within 8 s of the heal.",
    fleet=dataclasses.replace(FLEET, users=2),
    cloud=CloudSpec(timings={"app_grace_s": 20.0}),
    time_scale=0.1,
    warmup_s=5.0,
    steps=(
        FaultStep(Link.APP, Down(), at_s=5.0, duration_s=0.3, name="reset"),
        FaultStep(Link.APP, DropChunk(probability=1.0), at_s=5.3, duration_s=6.0,
                  name="blackhole"),
    ),
    recovery_window_s=25.0,
    quiesce_s=5.0,
    checks=(
        CheckSpec.of("recovery", "recovery.never == 0", "recovery.app_never == 0",
                     "recovery.app_p95_s <= 8"),
        NO_LEAKS,
        HEALTH,
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0"),
    ),
    tags=("defects", "app-link"),
)
