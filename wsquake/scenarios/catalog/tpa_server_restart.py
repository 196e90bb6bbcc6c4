"""TPA server restart: the app-server process is stopped and started again 2 s later.

On SIGTERM the AppServer disconnects every session without ``ownership_release`` (§10.1
Shutdown), so the cloud sees close 1005 and moves each app to ``grace_period`` (A4). The
restarted server re-registers with the same webhook URL, which the reference cloud
treats as a restart (§7.3, ``recover_on_reregister``): it sends ``session_request`` with
the same sessionIds at once; otherwise the grace expires at 5 s and resurrection (A5)
does the same. Expected on the reference cloud: **pass** — every app recovers within a
few seconds of the restart, once (one extra ``session_request`` per app, by design), no
duplicate session, no orphan socket; data during the restart is lost by design, none
after recovery.
"""

from wsquake.scenarios.catalog._common import (
    FLEET,
    HEALTH,
    NO_LEAKS,
    SUBSCRIPTIONS,
    no_loss_after_recovery,
    recovers,
)
from wsquake.scenarios.model import (
    CheckSpec,
    ProcessAction,
    ProcessStep,
    ProcessTarget,
    Scenario,
)

SCENARIO = Scenario(
    name="tpa-server-restart",
    description="The app server restarts: restart recovery / resurrection restores apps.",
    fleet=FLEET,
    time_scale=0.2,
    warmup_s=5.0,
    steps=(
        ProcessStep(ProcessTarget.APPS, ProcessAction.RESTART,
                    at_s=5.0, duration_s=2.0, name="restart"),
    ),
    recovery_window_s=15.0,
    quiesce_s=25.0,
    checks=(
        recovers(10),
        no_loss_after_recovery(),
        SUBSCRIPTIONS,
        NO_LEAKS,
        HEALTH,
        CheckSpec.of("lifecycle", "lifecycle.duplicate_sessions == 0",
                     "lifecycle.resurrections <= 2 * sessions"),
    ),
    tags=("regression", "process"),
)
