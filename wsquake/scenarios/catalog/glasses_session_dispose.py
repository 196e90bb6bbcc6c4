"""Glasses away past a 10 s grace: the dispose must stop apps properly and forget them (D9, D13).

The glasses link is down 15 s with ``glasses_grace_s = 10``, so the cloud disposes each
user session (PROTOCOL.md §9.2): the reference cloud sends every app ``stop_request``
``system_stop``, then ``app_stopped`` and close 1000 "User session ended", and removes the
session's subscriptions; after the heal the glasses build a new session and the apps start
again. Upstream closed the apps without the stop webhook (D13: a mid-2025 SDK never ran
``onStop``) and kept the subscription sets keyed ``"<email>:<pkg>"`` (D9), visible as
``leakedSubscriptions``. Expected on the reference cloud: **pass** (no app ended without
``stop_request``, no leaked subscription set, everyone back).
"""

import dataclasses

from wsquake.scenarios.catalog._common import FLEET, SUBSCRIPTIONS, recovers
from wsquake.scenarios.model import CheckSpec, CloudSpec, Down, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="glasses-session-dispose",
    description="Glasses link down 15 s (> 10 s grace): apps get stop_request, nothing leaks.",
    fleet=dataclasses.replace(FLEET, users=2),
    cloud=CloudSpec(timings={"glasses_grace_s": 10.0}),
    time_scale=0.1,
    warmup_s=5.0,
    steps=(FaultStep(Link.GLASSES, Down(), at_s=5.0, duration_s=15.0, name="partition"),),
    recovery_window_s=20.0,
    checks=(
        recovers(15),
        SUBSCRIPTIONS,
        CheckSpec.of("leaks", "leaks.zombie_sessions == 0", "leaks.leaked_subscriptions == 0"),
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0",
                     "lifecycle.ended_without_stop == 0"),
    ),
    tags=("defects", "glasses-link"),
)
