"""Storm under load: a 2 s glasses-link cut while a 200-user Locust fleet runs.

Besides the 4-user asyncio fleet, a Locust background fleet (``load``: 200 glasses over
two worker processes, spawned at 100/s during the warm-up, an echo probe every 5 s) runs
through the same ``glasses-link``. The cut resets all 204 glasses sockets at once, so
204 Android clients reconnect together with jittered backoff (§10.2) while the cloud
keeps every user session in its 60 s grace (§9.2) and the apps untouched. The Locust
workers record their users' glasses events (``parts/glasses-locust-*.jsonl``), so the
recovery, delivery and leak checks count them like any glasses client; the master's
``load_recovery`` events carry each user's time to recover. Expected on the reference
cloud: **pass** — every client recovers (p95 within 10 s), nothing lost after recovery,
no leak, no duplicate session.
"""

from wsquake.scenarios.catalog._common import (
    CLEAN_LIFECYCLE,
    FLEET,
    HEALTH,
    NO_LEAKS,
    SUBSCRIPTIONS,
    no_loss_after_recovery,
    recovers,
)
from wsquake.scenarios.model import Down, FaultStep, Link, LoadSpec, Scenario

SCENARIO = Scenario(
    name="storm-under-load",
    description="A 2 s glasses-link cut while 200 Locust glasses run: a reconnect storm.",
    fleet=FLEET,
    load=LoadSpec(users=200, spawn_rate=100.0, workers=2, probe_interval_s=5.0),
    time_scale=0.2,
    warmup_s=25.0,
    steps=(FaultStep(Link.GLASSES, Down(), at_s=5.0, duration_s=2.0, name="cut"),),
    recovery_window_s=20.0,
    checks=(
        recovers(10),
        no_loss_after_recovery(),
        SUBSCRIPTIONS,
        NO_LEAKS,
        HEALTH,
        CLEAN_LIFECYCLE,
    ),
    tags=("load", "glasses-link"),
)
