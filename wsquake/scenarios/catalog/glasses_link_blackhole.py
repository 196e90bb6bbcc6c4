"""Glasses link blackhole: 45 s of silence on the glasses link (half-open).

Both ends can notice: the cloud closes a glasses socket with no pong for 30 s, checked
every 10 s (§9.4), and moves the session to ``CONNECTING`` within the 60 s grace; the
Android client pings every 30 s and fails the socket on a missed pong (§10.2), then
retries — its new connections are accepted by the proxy but hang until the blackhole
lifts. Expected on the reference cloud: **pass** — detection within pong deadline + ping
interval (+ probe slack), every glasses client back within about 10 s of the heal, apps
untouched, nothing lost after recovery (what the glasses wrote into the dead socket
before noticing is lost by design).
"""

from wsquake.faults.client import Timeout
from wsquake.scenarios.catalog._common import (
    CLEAN_LIFECYCLE,
    FLEET,
    NO_LEAKS,
    SUBSCRIPTIONS,
    no_loss_after_recovery,
    recovers,
)
from wsquake.scenarios.model import CheckSpec, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="glasses-link-blackhole",
    description="Glasses link blackholed 45 s: the pong deadline closes the dead socket.",
    fleet=FLEET,
    time_scale=0.1,
    warmup_s=12.0,
    steps=(FaultStep(Link.GLASSES, Timeout(0), at_s=5.0, duration_s=45.0, name="blackhole"),),
    recovery_window_s=25.0,
    checks=(
        recovers(15),
        no_loss_after_recovery(),
        SUBSCRIPTIONS,
        NO_LEAKS,
        CheckSpec.of("health", "health.undetected == 0",
                     "health.detect_max_s <= pong_deadline_s + ping_interval_s + 5"),
        CLEAN_LIFECYCLE,
    ),
    tags=("regression", "glasses-link", "health"),
)
