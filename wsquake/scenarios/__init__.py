"""Scenarios: the model, thresholds, loader, checkers and the catalog.

See ``docs/scenarios.md`` and ``docs/checkers.md``.
"""

from wsquake.scenarios.exceptions import CheckError, ScenarioError, ScenariosError, ThresholdError
from wsquake.scenarios.loader import catalog_names, load_scenario
from wsquake.scenarios.model import (
    CHECK_NAMES,
    DEFAULT_CHECKS,
    ActionPhase,
    CheckSpec,
    CloudSpec,
    Direction,
    Down,
    FaultStep,
    FleetSpec,
    Link,
    LoadSpec,
    ProcessAction,
    ProcessStep,
    ProcessTarget,
    Scenario,
    Step,
    TimelineAction,
    scale_toxic,
)
from wsquake.scenarios.thresholds import Threshold, ThresholdResult, Verdict, worst

__all__ = [
    "CHECK_NAMES",
    "DEFAULT_CHECKS",
    "ActionPhase",
    "CheckError",
    "CheckSpec",
    "CloudSpec",
    "Direction",
    "Down",
    "FaultStep",
    "FleetSpec",
    "LoadSpec",
    "Link",
    "ProcessAction",
    "ProcessStep",
    "ProcessTarget",
    "Scenario",
    "ScenarioError",
    "ScenariosError",
    "Step",
    "Threshold",
    "ThresholdError",
    "ThresholdResult",
    "TimelineAction",
    "Verdict",
    "catalog_names",
    "load_scenario",
    "scale_toxic",
    "worst",
]
