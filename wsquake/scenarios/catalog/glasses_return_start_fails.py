"""Glasses return after a dispose, webhook link down: a failed start stays failed (D10).

The glasses link is down 15 s with ``glasses_grace_s = 10``: the cloud disposes the user
sessions (PROTOCOL.md §9.2). When the glasses return, the new session starts the user's
persisted apps at once; the webhook link refuses connections, so with
``webhook_attempts = 1`` each start fails right away (§7.2). Android glasses send
``connection_init`` about 1 s after the socket opens (§8.1). The reference cloud only
re-acks that init. Upstream (D10) ran the fresh session's app starts a second time: the
glasses see the app go back to ``loading`` with no ``start_app`` of theirs. Expected on
the reference cloud: **pass** with the apps lost by design and no start run again
(``lifecycle.starts_rerun == 0``).
"""

import dataclasses

from wsquake.scenarios.catalog._common import FLEET
from wsquake.scenarios.model import CheckSpec, CloudSpec, Down, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="glasses-return-start-fails",
    description="Glasses return after a dispose, webhooks refused: a failed start is not rerun.",
    fleet=dataclasses.replace(FLEET, users=2),
    cloud=CloudSpec(timings={"glasses_grace_s": 10.0, "webhook_attempts": 1}),
    time_scale=0.1,
    warmup_s=5.0,
    steps=(
        FaultStep(Link.GLASSES, Down(), at_s=5.0, duration_s=15.0, name="partition"),
        FaultStep(Link.WEBHOOK, Down(), at_s=17.0, duration_s=10.0, name="webhook-down"),
    ),
    recovery_window_s=10.0,
    checks=(
        CheckSpec.of("recovery"),  # apps are lost by design: echoes cannot come back
        CheckSpec.of("leaks", "leaks.zombie_sessions == 0"),
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0",
                     "lifecycle.starts_rerun == 0"),
    ),
    tags=("defects", "glasses-link"),
)
