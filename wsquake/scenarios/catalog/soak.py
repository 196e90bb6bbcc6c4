"""Soak: ten steady scenario minutes with a 100-user Locust fleet beside the 4-user fleet.

No fault: the run is long so slow leaks show. The leak checker audits the cloud after
the quiesce: no zombie user session, no orphan app connection, nothing stuck loading and
no growth of glasses + app connections since the warm-up (``/api/sessions``, §13);
delivery must be exact for the asyncio fleet and the Locust users alike (their glasses
events are in ``parts/glasses-locust-*.jsonl``). Only in the ``full`` suite (about 5 wall
minutes at time scale 0.5). Expected on the reference cloud: **pass** on every check.
"""

from wsquake.scenarios.catalog._common import FLEET, HEALTH, SUBSCRIPTIONS, undisturbed
from wsquake.scenarios.model import CheckSpec, LoadSpec, Scenario

SCENARIO = Scenario(
    name="soak",
    description="Ten steady minutes with 100 Locust glasses: the leak checker audits it.",
    fleet=FLEET,
    load=LoadSpec(users=100, spawn_rate=50.0, workers=1, probe_interval_s=5.0),
    time_scale=0.5,
    warmup_s=10.0,
    recovery_window_s=600.0,
    quiesce_s=5.0,
    checks=(
        undisturbed(),
        CheckSpec.of("delivery", "delivery.lost == 0", "delivery.duplicated == 0"),
        SUBSCRIPTIONS,
        CheckSpec.of("leaks", "leaks.zombie_sessions == 0", "leaks.orphan_app_connections == 0",
                     "leaks.stuck_loading == 0", "leaks.connection_growth == 0"),
        HEALTH,
        CheckSpec.of("lifecycle", "lifecycle.start_success_rate >= 1",
                     "lifecycle.duplicate_sessions == 0", "lifecycle.resurrections == 0"),
    ),
    tags=("load", "soak"),
)
