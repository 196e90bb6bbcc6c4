"""Webhook blackhole during a stop: the ``stop_request`` of a resurrection never answers.

The app link is cut for 8 s (the SDK gives up at about 7 s) while the webhook link is
blackholed for 12 s. At 5 s the grace expires and resurrection (§9.3 A5) starts with a
``stop_request`` into the blackhole. Upstream awaits it forever (D4: the app sticks in
``stopping`` and never reaches ``session_request``); the reference cloud bounds it with
``stop_webhook_timeout_s`` (10 s), then sends ``session_request`` over the healed webhook
link. Expected on the reference cloud: **pass** — every app recovers about 3-5 s after
the webhook link heals (the bounded stop dominates), nothing stuck loading or stopping,
no duplicate. Under D4 recovery fails with every app ``never``.
"""

from wsquake.faults.client import Timeout
from wsquake.scenarios.catalog._common import (
    FLEET,
    HEALTH,
    NO_LEAKS,
    SUBSCRIPTIONS,
    no_loss_after_recovery,
    recovers,
)
from wsquake.scenarios.model import CheckSpec, Down, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="webhook-blackhole-stop",
    description="Stop webhook blackholed during resurrection: bounded by the stop timeout.",
    fleet=FLEET,
    time_scale=0.1,
    warmup_s=5.0,
    steps=(
        FaultStep(Link.APP, Down(), at_s=5.0, duration_s=8.0, name="app-cut"),
        FaultStep(Link.WEBHOOK, Timeout(0), at_s=5.0, duration_s=12.0, name="webhook-hole"),
    ),
    recovery_window_s=20.0,
    checks=(
        recovers("stop_webhook_timeout_s"),
        no_loss_after_recovery(),
        SUBSCRIPTIONS,
        NO_LEAKS,
        HEALTH,
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0"),
    ),
    tags=("regression", "webhook"),
)
