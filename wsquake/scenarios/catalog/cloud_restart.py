"""Cloud restart: the cloud process stops and starts again 3 s later.

The reference cloud keeps sessions, ``runningApps`` and registrations in memory, so a
restart loses them all. Glasses retry with the Android backoff (§10.2) and get a fresh
user session; app SDKs retry at about 1, 3 and 7 s with their old sessionId and are
refused with ``APP_NOT_STARTED`` + 1008 unless the app was started again (§9.3 A3, §10.1:
no retry after 1008). So the thresholds say explicitly: every glasses client recovers,
apps may be lost (``recovery.app_never`` up to every app) — a real weakness of an
in-memory cloud that this scenario keeps visible. With the echo app gone, the glasses'
end-to-end echo cannot come back either, so the glasses are judged on reconnecting
(``recovery.glasses_reconnect_rate``, within the Android backoff) rather than on catching
up. Whatever the new cloud holds must be clean (no zombie, orphan or stuck app).
Expected on the reference cloud: **pass**.
"""

from wsquake.scenarios.catalog._common import FLEET, HEALTH, NO_LEAKS
from wsquake.scenarios.model import (
    CheckSpec,
    ProcessAction,
    ProcessStep,
    ProcessTarget,
    Scenario,
)

SCENARIO = Scenario(
    name="cloud-restart",
    description="The cloud restarts (3 s down): glasses come back, in-memory state is lost.",
    fleet=FLEET,
    time_scale=0.1,
    warmup_s=5.0,
    steps=(
        ProcessStep(ProcessTarget.CLOUD, ProcessAction.RESTART,
                    at_s=5.0, duration_s=3.0, name="restart"),
    ),
    recovery_window_s=40.0,
    checks=(
        CheckSpec.of("recovery", "recovery.glasses_reconnect_rate >= 1",
                     "recovery.reconnect_p95_s <= 35", "recovery.app_never <= sessions",
                     "recovery.glasses_never <= users"),
        HEALTH,
        NO_LEAKS,
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0"),
    ),
    tags=("full", "process"),
)
