"""Glasses link half-close: the glasses see the cut at once, the cloud 20 s later (D8).

``x-ws-close`` with code 0 cuts the glasses' side of every glasses-link connection; a
``slow_close`` on the glasses→cloud direction delays the cloud's side by 20 s. The
glasses reconnect within 1-2 s (Android backoff, PROTOCOL.md §8.1) while the cloud still
holds the old socket. The reference cloud (§9.2, §12 fixed profile) detaches the old
socket and closes it 1000 "Replaced by new connection", so a user never holds two glasses
sockets. Upstream (D8) kept the old one open and attached; its late close stopped
transcription and set ``disconnectedAt`` under the live socket. Expected on the reference
cloud: **pass** (every user back within the recovery window, one glasses socket each).
"""

import dataclasses

from wsquake.faults.client import SlowClose, WsClose
from wsquake.scenarios.catalog._common import FLEET, HEALTH, SUBSCRIPTIONS, no_loss_after_recovery
from wsquake.scenarios.model import CheckSpec, Direction, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="glasses-link-half-close",
    description="Glasses side of the link cut at once, cloud side 20 s later: one socket each.",
    fleet=dataclasses.replace(FLEET, users=2, probe_interval_s=0.5),
    time_scale=0.1,
    warmup_s=5.0,
    steps=(
        FaultStep(Link.GLASSES, SlowClose(delay=20000), at_s=5.0, duration_s=25.0,
                  direction=Direction.UPSTREAM, name="late-close"),
        FaultStep(Link.GLASSES, WsClose(code=0), at_s=5.2, duration_s=1.0,
                  direction=Direction.DOWNSTREAM, name="cut"),
    ),
    recovery_window_s=10.0,
    checks=(
        CheckSpec.of("recovery", "recovery.never == 0"),
        no_loss_after_recovery(),
        SUBSCRIPTIONS,
        CheckSpec.of("leaks", "leaks.zombie_sessions == 0", "leaks.peak_glasses_sockets <= 1"),
        HEALTH,
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0"),
    ),
    tags=("defects", "glasses-link"),
)
