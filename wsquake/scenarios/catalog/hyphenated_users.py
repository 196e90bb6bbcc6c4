"""Hyphenated users: emails and packages containing ``-``, no fault (D1's trigger).

Upstream parsed the app session id ``<email>-<package>`` with ``split('-')`` until 2026
(PROTOCOL.md §12 D1): with ``anne-marie-0001@ex-ample.com`` the ``tpa_connection_init``
names a user that does not exist, so the app gets ``SESSION_NOT_FOUND`` and 1008 and the
SDK never retries. Nothing else differs from ``baseline``. Expected on the reference cloud
(session ids split at the package, §4): **pass** on every check, every app session
connected (``lifecycle.init_failed_sessions == 0``), nothing lost.
"""

import dataclasses

from wsquake.scenarios.catalog._common import FLEET, HEALTH, NO_LEAKS, SUBSCRIPTIONS, undisturbed
from wsquake.scenarios.model import CheckSpec, Scenario

SCENARIO = Scenario(
    name="hyphenated-users",
    description="Emails and packages with '-', no fault: every app session must connect.",
    fleet=dataclasses.replace(FLEET, users=2, hyphenated=True),
    time_scale=0.1,
    warmup_s=5.0,
    recovery_window_s=10.0,
    quiesce_s=5.0,
    checks=(
        undisturbed(),
        CheckSpec.of("delivery", "delivery.lost == 0", "delivery.duplicated == 0"),
        SUBSCRIPTIONS,
        NO_LEAKS,
        HEALTH,
        CheckSpec.of("lifecycle", "lifecycle.start_success_rate >= 1",
                     "lifecycle.init_failed_sessions == 0", "lifecycle.init_failures == 0",
                     "lifecycle.resurrections == 0"),
    ),
    tags=("defects",),
)
