"""Glasses link down 2 s: the reconnect must restore the display (D7).

The glasses reconnect within the 60 s grace (PROTOCOL.md §8.1, §9.2). The reference cloud
re-sends what the glasses should show (the app's current display), the mic state and
restarts transcription on the reconnect. Upstream (D7) only re-acked: the display and
mic state were not re-sent and transcription waited for the next ``VAD true``. Expected on
the reference cloud: **pass**, every glasses client shown its display again right after
the reconnect (``lifecycle.display_not_resent == 0``).
"""

from wsquake.scenarios.catalog._common import FLEET, NO_LEAKS, recovers
from wsquake.scenarios.model import CheckSpec, Down, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="glasses-reconnect-state",
    description="Glasses link down 2 s: the reconnect re-sends the display.",
    fleet=FLEET,  # 4 users: a reconnect whose last display was a clear has nothing to re-send
    time_scale=0.1,
    warmup_s=5.0,
    steps=(FaultStep(Link.GLASSES, Down(), at_s=5.0, duration_s=2.0, name="cut"),),
    recovery_window_s=10.0,
    checks=(
        recovers(6),
        NO_LEAKS,
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0",
                     "lifecycle.display_not_resent == 0"),
    ),
    tags=("defects", "glasses-link"),
)
