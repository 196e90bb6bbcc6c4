"""Suites: named lists of catalog scenarios, each with the ``time_scale`` that makes it fit.

| suite        | budget (wall) | what                                                     |
| ------------ | ------------- | -------------------------------------------------------- |
| ``smoke``    | < 2 min       | baseline, app-link-drop, glasses-link-drop,              |
|              |               | latency-spike at time scale 0.1 with 2 users             |
| ``regression`` | < 10 min    | the catalog minus the slow ``full``-only scenarios       |
|              |               | (cloud-restart, webhook-slow-start), own time scales (CI)|
| ``full``     | none          | every catalog scenario at its own time scale             |

A suite entry names a scenario and optionally a ``time_scale`` and a user count; names
missing from the catalog are skipped with a warning (the catalog grows over time), so
``wsquake list`` shows what a suite will actually run. :func:`estimate_wall_s` adds up the
planned wall time (plus a start/stop allowance per scenario) so a budget can be checked
before anything starts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from wsquake.scenarios.exceptions import ScenarioError
from wsquake.scenarios.loader import catalog_names, load_scenario
from wsquake.scenarios.model import Scenario

__all__ = ["SUITES", "Suite", "SuiteEntry", "estimate_wall_s", "resolve_suite", "suite_names"]

logger = logging.getLogger(__name__)

#: Wall seconds to start and stop the processes of one scenario and run its checks
#: (measured 2.5-4 s on a 2-core machine shared with other work).
STARTUP_ALLOWANCE_S = 6.0
SMOKE_TIME_SCALE = 0.1


@dataclass(frozen=True, slots=True)
class SuiteEntry:
    scenario: str
    time_scale: float | None = None  # None: the scenario's own
    users: int | None = None


@dataclass(frozen=True, slots=True)
class Suite:
    name: str
    description: str
    budget_s: float | None
    entries: tuple[SuiteEntry, ...]


_SMOKE = ("baseline", "app-link-drop", "glasses-link-drop", "latency-spike")
_REGRESSION = (
    *_SMOKE,
    "app-link-partition-race",
    "app-link-partition-long",
    "glasses-partition-past-grace",
    "app-link-blackhole",
    "glasses-link-blackhole",
    "bandwidth-throttle",
    "webhook-blackhole-stop",
    "tpa-server-restart",
    "flapping-app-link",
    "reconnect-storm",
    "fragmented-frames",
    "ws-frame-loss",
)

SUITES: dict[str, Suite] = {
    s.name: s
    for s in (
        Suite(
            "smoke",
            "a quick look: no faults, short app-link and glasses-link cuts, a latency spike",
            120.0,
            tuple(SuiteEntry(name, SMOKE_TIME_SCALE, users=2) for name in _SMOKE),
        ),
        Suite(
            "regression",
            "most of the catalog, each at the time scale its module chose (for CI)",
            600.0,
            tuple(SuiteEntry(name) for name in _REGRESSION),
        ),
        Suite("full", "every catalog scenario at its own time scale", None, ()),
    )
}


def suite_names() -> list[str]:
    return list(SUITES)


def _entries(suite: Suite) -> tuple[SuiteEntry, ...]:
    if suite.name == "full":
        return tuple(SuiteEntry(name) for name in catalog_names())
    return suite.entries


def resolve_suite(
    name: str,
    *,
    time_scale: float | None = None,
    users: int | None = None,
    seed: int | None = None,
    warn: bool = True,
) -> list[Scenario]:
    """The suite's scenarios, loaded and adjusted; explicit arguments beat the suite's."""
    suite = SUITES.get(name)
    if suite is None:
        raise ScenarioError(f"unknown suite {name!r} (known: {', '.join(SUITES)})")
    known = set(catalog_names())
    out: list[Scenario] = []
    for entry in _entries(suite):
        if entry.scenario not in known:
            if not warn:
                continue
            logger.warning("suite %s: scenario %s is not in the catalog; skipped",
                           name, entry.scenario)
            continue
        scenario = load_scenario(entry.scenario)
        scale = time_scale if time_scale is not None else entry.time_scale
        if scale is not None:
            scenario = scenario.scaled(scale)
        fleet: dict[str, int] = {}
        if users is not None or entry.users is not None:
            fleet["users"] = users if users is not None else entry.users  # type: ignore[assignment]
        if seed is not None:
            fleet["seed"] = seed
        if fleet:
            scenario = scenario.with_fleet(**fleet)
        out.append(scenario)
    if not out:
        raise ScenarioError(f"suite {name!r}: none of its scenarios is in the catalog")
    return out


def estimate_wall_s(scenarios: Sequence[Scenario]) -> float:
    """Planned wall seconds, plus :data:`STARTUP_ALLOWANCE_S` per scenario."""
    return sum(s.wall_s(s.duration_s()) + STARTUP_ALLOWANCE_S for s in scenarios)
