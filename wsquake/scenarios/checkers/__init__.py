"""Checkers: pure functions over :class:`~wsquake.history.frame.HistoryFrames`.

``CHECKERS`` maps each check name (``model.CHECK_NAMES``) to its function;
:func:`run_check` runs one and applies the scenario's thresholds; :func:`run_checks` runs
every check the scenario lists. Definitions: ``docs/checkers.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wsquake.history.frame import HistoryFrames
from wsquake.scenarios.checkers.base import CheckResult, Example, apply_thresholds
from wsquake.scenarios.checkers.delivery import check_delivery
from wsquake.scenarios.checkers.health import check_health
from wsquake.scenarios.checkers.leaks import check_leaks
from wsquake.scenarios.checkers.lifecycle import check_lifecycle
from wsquake.scenarios.checkers.recovery import check_recovery
from wsquake.scenarios.checkers.subscriptions import check_subscriptions
from wsquake.scenarios.exceptions import CheckError
from wsquake.scenarios.model import CHECK_NAMES, Scenario

__all__ = [
    "CHECKERS",
    "CheckResult",
    "Checker",
    "Example",
    "check_delivery",
    "check_health",
    "check_leaks",
    "check_lifecycle",
    "check_recovery",
    "check_subscriptions",
    "run_check",
    "run_checks",
]

Checker = Callable[[HistoryFrames, Scenario, Mapping[str, Any] | None], CheckResult]

CHECKERS: Mapping[str, Checker] = {
    "recovery": check_recovery,
    "delivery": check_delivery,
    "subscriptions": check_subscriptions,
    "leaks": check_leaks,
    "health": check_health,
    "lifecycle": check_lifecycle,
}
assert tuple(CHECKERS) == CHECK_NAMES


def run_check(name: str, frames: HistoryFrames, scenario: Scenario,
              options: Mapping[str, Any] | None = None) -> CheckResult:
    """Run one checker (options default to the scenario's) and apply its thresholds."""
    checker = CHECKERS.get(name)
    if checker is None:
        raise CheckError(f"unknown check {name!r} (known: {', '.join(CHECKERS)})")
    if options is None:
        spec = scenario.check(name)
        options = spec.options if spec is not None else {}
    return apply_thresholds(checker(frames, scenario, options), scenario)


def run_checks(frames: HistoryFrames, scenario: Scenario) -> list[CheckResult]:
    """Every check the scenario lists, in its order."""
    return [run_check(spec.name, frames, scenario, spec.options) for spec in scenario.checks]
