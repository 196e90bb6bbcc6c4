"""Shared pieces of the catalog: the default fleet and the usual checks.

Thresholds state what the reference cloud (``fixed`` profile) is expected to do per
PROTOCOL.md; where upstream loses data or apps by design, the scenario's own thresholds
say so explicitly instead of dropping the check.
"""

from __future__ import annotations

from wsquake.scenarios.model import CheckSpec, FleetSpec

FLEET = FleetSpec(users=4, apps_per_user=1, event_rate_hz=2.0, probe_interval_s=2.0)

NO_LEAKS = CheckSpec.of(
    "leaks",
    "leaks.zombie_sessions == 0",
    "leaks.orphan_app_connections == 0",
    "leaks.stuck_loading == 0",
)
SUBSCRIPTIONS = CheckSpec.of("subscriptions", "subscriptions.restored_rate >= 1")
HEALTH = CheckSpec.of("health")
CLEAN_LIFECYCLE = CheckSpec.of(
    "lifecycle", "lifecycle.duplicate_sessions == 0", "lifecycle.resurrections == 0"
)


def recovers(p95_s: float | str, *extra: str) -> CheckSpec:
    """The fault disrupted connections (it bit), and every one recovered by the deadline
    with p95 within ``p95_s``."""
    return CheckSpec.of(
        "recovery", "recovery.disrupted >= 1", "recovery.never == 0", "recovery.rate >= 1",
        f"recovery.p95_s <= {p95_s}", "recovery.unprovoked_losses == 0", *extra,
    )


def undisturbed() -> CheckSpec:
    """No connection is disrupted, during the fault or outside it."""
    return CheckSpec.of("recovery", "recovery.disrupted == 0", "recovery.unprovoked_losses == 0")


def no_loss_after_recovery(*extra: str) -> CheckSpec:
    return CheckSpec.of(
        "delivery", "delivery.lost_after_recovery == 0", "delivery.duplicated == 0", *extra
    )
