"""Webhook slow start: restarts go through a webhook link slower than the start timeout.

The webhook link gets 6 s of latency towards the app server, then the app server is
restarted, so every app has to be started again by ``session_request`` (§7.3 restart
recovery or A5 resurrection). ``app_start_timeout_s`` (5 s) runs from *before* the first
POST (§7.2): the init cannot arrive in time, the start fails (A3 ``TIMEOUT``) and the app
leaves ``runningApps``; the SDK's late connect then gets ``APP_NOT_STARTED`` + 1008 and
stays a zombie on the app server (§10.1). This is upstream's documented behaviour, so the
thresholds say it explicitly: apps are expected **not** to recover (``recovery.app_never``
up to every app), while the cloud must stay clean — nothing stuck ``loading``, no orphan
socket, no duplicate session — and the glasses are untouched. Expected verdict on the
reference cloud: **pass** (with the lost apps visible in the recovery metrics).
"""

from wsquake.faults.client import Latency
from wsquake.scenarios.catalog._common import FLEET, HEALTH, NO_LEAKS
from wsquake.scenarios.model import (
    CheckSpec,
    Direction,
    FaultStep,
    Link,
    ProcessAction,
    ProcessStep,
    ProcessTarget,
    Scenario,
)

SCENARIO = Scenario(
    name="webhook-slow-start",
    description="Webhooks 6 s slow during an app-server restart: starts time out at 5 s.",
    fleet=FLEET,
    time_scale=0.1,
    warmup_s=5.0,
    steps=(
        FaultStep(Link.WEBHOOK, Latency(6000), at_s=4.0, duration_s=30.0,
                  direction=Direction.UPSTREAM, name="slow-webhook"),
        ProcessStep(ProcessTarget.APPS, ProcessAction.RESTART,
                    at_s=5.0, duration_s=1.0, name="restart"),
    ),
    recovery_window_s=15.0,
    checks=(
        CheckSpec.of("recovery", "recovery.glasses_never == 0",
                     "recovery.app_never <= sessions"),
        HEALTH,
        NO_LEAKS,
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0"),
    ),
    tags=("full", "webhook"),
)
