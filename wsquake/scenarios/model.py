"""The scenario model: fleet, cloud settings, a timeline of fault steps, and checks.

``Scenario`` lives here; its parts are in :mod:`.specs` (fleet, cloud, checks) and
:mod:`.steps` (fault and process steps, timeline actions), re-exported from this module.

Every value here is a frozen dataclass validated in ``__post_init__``; a bad value raises
:class:`~wsquake.scenarios.exceptions.ScenarioError` naming the field.

**Time.** Every time in a scenario (``at_s``, ``duration_s``, ``every_s``, ``warmup_s``,
``recovery_window_s``, ``quiesce_s``, the time fields of toxics) and every protocol
timing of the cloud and the clients is in *scenario seconds*. At run time all of them are
multiplied by ``Scenario.time_scale`` (wall seconds = scenario seconds × time_scale), so a
scenario keeps its relative timings at any speed. ``Scenario.scaled(x)`` returns the same
scenario with another ``time_scale`` (the CLI's ``--time-scale``); checkers report ``_s``
metrics back in scenario seconds, so thresholds do not change with the scale.

**Phases** (scenario seconds, 0 = end of the warm-up)::

    -warmup_s ........ 0 ........ faults_end_s() ........ +recovery_window_s ...... +quiesce
      warm-up (steady)   timeline (fault steps)   recovery window (deadline)    quiesce, audit
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any

from wsquake.cloud.settings import Timings
from wsquake.scenarios.exceptions import ScenarioError
from wsquake.scenarios.specs import (
    CHECK_NAMES,
    DEFAULT_CHECKS,
    SDK_DEFECT_NAMES,
    TIMING_KEYS,
    CheckSpec,
    CloudSpec,
    FleetSpec,
    LoadSpec,
)
from wsquake.scenarios.steps import (
    ActionPhase,
    Direction,
    Down,
    FaultStep,
    Link,
    ProcessAction,
    ProcessStep,
    ProcessTarget,
    Step,
    TimelineAction,
    scale_toxic,
)
from wsquake.scenarios.thresholds import Verdict
from wsquake.scenarios.validation import check_num, check_strs

__all__ = [
    "CHECK_NAMES",
    "DEFAULT_CHECKS",
    "SDK_DEFECT_NAMES",
    "ActionPhase",
    "CheckSpec",
    "CloudSpec",
    "Direction",
    "Down",
    "FaultStep",
    "FleetSpec",
    "Link",
    "LoadSpec",
    "ProcessAction",
    "ProcessStep",
    "ProcessTarget",
    "Scenario",
    "Step",
    "TimelineAction",
    "Verdict",
    "scale_toxic",
]

_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")



@dataclass(frozen=True, slots=True)
class Scenario:
    """A named, self-describing experiment. See the module docstring for time and phases."""

    name: str
    description: str
    fleet: FleetSpec = field(default_factory=FleetSpec)
    cloud: CloudSpec = field(default_factory=CloudSpec)
    time_scale: float = 1.0
    warmup_s: float = 5.0
    steps: tuple[Step, ...] = ()
    recovery_window_s: float = 20.0
    quiesce_s: float | None = None
    checks: tuple[CheckSpec, ...] = DEFAULT_CHECKS
    tags: tuple[str, ...] = ()
    load: LoadSpec | None = None
    """A Locust background fleet beside ``fleet`` (``None`` = none)."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ScenarioError(
                f"name: lowercase letters, digits and single hyphens only, got {self.name!r}"
            )
        if not isinstance(self.description, str) or not self.description.strip():
            raise ScenarioError("description: must be a non-empty string")
        if not isinstance(self.fleet, FleetSpec):
            raise ScenarioError(f"fleet: must be a FleetSpec, got {self.fleet!r}")
        if not isinstance(self.cloud, CloudSpec):
            raise ScenarioError(f"cloud: must be a CloudSpec, got {self.cloud!r}")
        if self.load is not None and not isinstance(self.load, LoadSpec):
            raise ScenarioError(f"load: must be a LoadSpec or None, got {self.load!r}")
        check_num("", "time_scale", self.time_scale, minimum=0, strict=True)
        check_num("", "warmup_s", self.warmup_s, minimum=0)
        check_num("", "recovery_window_s", self.recovery_window_s, minimum=0, strict=True)
        if self.quiesce_s is not None:
            check_num("", "quiesce_s", self.quiesce_s, minimum=0)
        steps: object = self.steps
        if isinstance(steps, list):
            object.__setattr__(self, "steps", tuple(steps))
        elif not isinstance(steps, tuple):
            raise ScenarioError(f"steps: must be a tuple of steps, got {self.steps!r}")
        names: dict[str, int] = {}
        for i, step in enumerate(self.steps):
            if not isinstance(step, FaultStep | ProcessStep):
                raise ScenarioError(
                    f"steps[{i}]: must be a FaultStep or ProcessStep, got {step!r}"
                )
            label = self.step_name(i)
            if label in names:
                raise ScenarioError(
                    f"steps[{i}].name: duplicate step name {label!r} (also steps[{names[label]}])"
                )
            names[label] = i
            if isinstance(step, ProcessStep):
                for j, other in enumerate(self.steps[:i]):
                    if isinstance(other, ProcessStep) and other.target is step.target:
                        (a0, a1), (b0, b1) = other.windows()[0], step.windows()[0]
                        if b0 < a1 and a0 < b1 or (a1 == math.inf and b0 >= a0):
                            raise ScenarioError(
                                f"steps[{i}].at_s: overlaps steps[{j}] on process "
                                f"{step.target.value!r}"
                            )
        checks: object = self.checks
        if isinstance(checks, list):
            object.__setattr__(self, "checks", tuple(checks))
        elif not isinstance(checks, tuple):
            raise ScenarioError(f"checks: must be a tuple of CheckSpec, got {self.checks!r}")
        seen: set[str] = set()
        for i, check in enumerate(self.checks):
            if not isinstance(check, CheckSpec):
                raise ScenarioError(f"checks[{i}]: must be a CheckSpec, got {check!r}")
            if check.name in seen:
                raise ScenarioError(f"checks[{i}].name: duplicate check {check.name!r}")
            seen.add(check.name)
        object.__setattr__(self, "tags", check_strs("", "tags", self.tags))

    # names and the timeline

    def step_name(self, index: int) -> str:
        """The step's ``name``, or ``<index>-<target>-<toxic>`` (e.g. ``0-app-link-down``)."""
        step = self.steps[index]
        if step.name is not None:
            return step.name
        target = step.link.value if isinstance(step, FaultStep) else step.target.value
        return f"{index}-{target}-{step.toxic_type}"

    def timeline(self) -> list[TimelineAction]:
        """Every start and end action, sorted by time (ends before starts at equal times).

        Flapping steps expand into ``repeat`` start/end pairs; a kill that never restarts
        has no end action.
        """
        actions: list[TimelineAction] = []
        for i, step in enumerate(self.steps):
            fault = self.step_name(i)
            if isinstance(step, FaultStep):
                target, toxic = step.link.value, step.toxic_type
            else:
                target, toxic = step.target.value, step.action.value
            for w, (start, end) in enumerate(step.windows()):
                actions.append(
                    TimelineAction(start, ActionPhase.START, i, w, step, fault, target, toxic)
                )
                if math.isfinite(end):
                    actions.append(
                        TimelineAction(end, ActionPhase.END, i, w, step, fault, target, toxic)
                    )
        order = {ActionPhase.END: 0, ActionPhase.START: 1}
        actions.sort(key=lambda a: (a.at_s, order[a.phase], a.step_index, a.window))
        return actions

    def faults_end_s(self) -> float:
        """When the last fault heals (scenario s after the warm-up); 0 without steps."""
        end = 0.0
        for step in self.steps:
            for start, stop in step.windows():
                end = max(end, start if math.isinf(stop) else stop)
        return end

    def resolved_quiesce_s(self) -> float:
        """``quiesce_s``, or the time the cloud needs to dispose what the faults left.

        Default: the longest of the glasses grace, app grace + start timeout + stop
        webhook timeout, and the pong deadline + one ping interval, plus the close
        handshake timeout.
        """
        if self.quiesce_s is not None:
            return float(self.quiesce_s)
        c = self.cloud
        pong = c.timing("pong_deadline_s")
        return max(
            c.timing("glasses_grace_s"),
            c.timing("app_grace_s") + c.timing("app_start_timeout_s")
            + c.timing("stop_webhook_timeout_s"),
            pong + c.timing("ping_interval_s") if pong > 0 else 0.0,
        ) + c.timing("close_handshake_timeout_s")

    def recovery_deadline_s(self) -> float:
        """End of the recovery window (scenario s after the warm-up)."""
        return self.faults_end_s() + self.recovery_window_s

    def duration_s(self) -> float:
        """Total scenario seconds: warm-up + timeline + recovery window + quiesce."""
        return self.warmup_s + self.recovery_deadline_s() + self.resolved_quiesce_s()

    def wall_s(self, scenario_s: float) -> float:
        """Scenario seconds → wall seconds (× ``time_scale``)."""
        return scenario_s * self.time_scale

    def scaled(self, time_scale: float) -> Scenario:
        """The same scenario run at another ``time_scale`` (all times × the new factor)."""
        return dataclasses.replace(self, time_scale=time_scale)

    def with_fleet(self, **changes: Any) -> Scenario:
        """The same scenario with fleet fields replaced (e.g. the CLI's ``--users``)."""
        return dataclasses.replace(self, fleet=dataclasses.replace(self.fleet, **changes))

    def timings(self) -> Timings:
        """The cloud's :class:`Timings` for this run (overrides + ``time_scale``)."""
        return self.cloud.build_timings(self.time_scale)

    def symbols(self) -> dict[str, float]:
        """Values for threshold expressions, in scenario units (``_ms`` keys in seconds)."""
        out: dict[str, float] = {}
        for key in TIMING_KEYS:
            value = self.cloud.timing(key)
            out[key] = value / 1000.0 if key.endswith("_ms") else value
        out.update(
            recovery_window_s=self.recovery_window_s,
            warmup_s=self.warmup_s,
            users=float(self.fleet.users),
            apps_per_user=float(self.fleet.apps_per_user),
            sessions=float(self.fleet.sessions),
            time_scale=self.time_scale,
        )
        return out

    def check(self, name: str) -> CheckSpec | None:
        for spec in self.checks:
            if spec.name == name:
                return spec
        return None
