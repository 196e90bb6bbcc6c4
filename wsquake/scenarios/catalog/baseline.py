"""Baseline: no fault at all, so every check must be perfect.

Shows the harness itself is sound before any fault is blamed: the fleet connects, apps
start (PROTOCOL.md §9.3 A1-A2), every ``(user, stream, seq)`` sent by the glasses reaches
every subscribed app exactly once and in order, and the cloud holds exactly the live
clients at the end. Expected on the reference cloud: **pass** on every check (no
message lost, duplicated or reordered; nothing disrupted; no leak; no connection growth;
``loadingApps`` always a list, which upstream's D11 broke, §12).
"""

from wsquake.scenarios.catalog._common import FLEET, HEALTH, SUBSCRIPTIONS, undisturbed
from wsquake.scenarios.model import CheckSpec, Scenario

SCENARIO = Scenario(
    name="baseline",
    description="No faults: delivery, subscriptions, leaks and lifecycle must be perfect.",
    fleet=FLEET,
    time_scale=0.1,
    warmup_s=5.0,
    recovery_window_s=20.0,
    quiesce_s=5.0,
    checks=(
        undisturbed(),
        CheckSpec.of("delivery", "delivery.lost == 0", "delivery.duplicated == 0",
                     "delivery.reordered == 0"),
        SUBSCRIPTIONS,
        CheckSpec.of("leaks", "leaks.zombie_sessions == 0", "leaks.orphan_app_connections == 0",
                     "leaks.stuck_loading == 0", "leaks.connection_growth == 0"),
        HEALTH,
        CheckSpec.of("lifecycle", "lifecycle.start_success_rate >= 1",
                     "lifecycle.duplicate_sessions == 0", "lifecycle.resurrections == 0",
                     "lifecycle.loading_apps_not_list == 0"),
    ),
    tags=("smoke",),
)
