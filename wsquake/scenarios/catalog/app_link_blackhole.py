"""App link blackhole: 45 s of silence on the app link, no FIN or RST (half-open).

The SDK never pings and has no read deadline (§10.1), so only the cloud can notice: it
pings every ``ping_interval_s`` (10 s) and closes a socket whose last pong is older than
``pong_deadline_s`` (30 s) — between 30 and 40 s after the last pong (§9.4), then A4
grace. The scenario sets ``app_grace_s`` to 30 s so the resurrection does not fire into
the still-blackholed link; when the blackhole lifts, the SDK sees the dropped connection
and reconnects into its grace period. Data relayed into the dead socket before detection
is lost by design (no app-level acks), then buffered. Expected on the reference cloud:
**pass** — health detection within pong deadline + ping interval (+ probe slack), every
app recovers after the heal, nothing lost after recovery. With D3 (``pong_deadline_s=0``)
the health check fails: the dead socket is never detected.
"""

from wsquake.faults.client import Timeout
from wsquake.scenarios.catalog._common import (
    FLEET,
    NO_LEAKS,
    SUBSCRIPTIONS,
    no_loss_after_recovery,
    recovers,
)
from wsquake.scenarios.model import CheckSpec, CloudSpec, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="app-link-blackhole",
    description="App link blackholed 45 s: the cloud's pong deadline must close it.",
    fleet=FLEET,
    # the SDK as measured for this scenario: a reconnect attempt hung in the blackhole
    # waits for the heal (D14, upstream); the fixed SDK gives up before the heal and the
    # app comes back only by resurrection at the end of the 30 s grace
    cloud=CloudSpec(timings={"app_grace_s": 30.0}, defects=("sdk.hung_attempt_stalls",)),
    time_scale=0.1,
    warmup_s=12.0,
    steps=(FaultStep(Link.APP, Timeout(0), at_s=5.0, duration_s=45.0, name="blackhole"),),
    recovery_window_s=20.0,
    checks=(
        recovers(10),
        no_loss_after_recovery(),
        SUBSCRIPTIONS,
        NO_LEAKS,
        CheckSpec.of("health", "health.undetected == 0",
                     "health.detect_max_s <= pong_deadline_s + ping_interval_s + 5"),
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0"),
    ),
    tags=("regression", "app-link", "health"),
)
