"""The scenario model: fleet, cloud settings, a timeline of fault steps, and checks.

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
import enum
import math
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from wsquake.cloud.settings import DEFECT_NAMES, Timings
from wsquake.faults.client.models import Stream
from wsquake.faults.client.specs import (
    Bandwidth,
    Latency,
    ResetPeer,
    Slicer,
    SlowClose,
    Timeout,
    ToxicSpec,
    WsClose,
    WsDelay,
)
from wsquake.scenarios.exceptions import ScenarioError, ThresholdError
from wsquake.scenarios.thresholds import Threshold, Verdict

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
    "ProcessAction",
    "ProcessStep",
    "ProcessTarget",
    "Scenario",
    "Step",
    "TimelineAction",
    "Verdict",
    "scale_toxic",
]

CHECK_NAMES: tuple[str, ...] = (
    "recovery",
    "delivery",
    "subscriptions",
    "leaks",
    "health",
    "lifecycle",
)
SDK_DEFECT_NAMES: tuple[str, ...] = ("sdk.legacy_session_map", "sdk.hung_attempt_stalls")
_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_STEP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:#-]*$")


class Link(enum.StrEnum):
    """A proxied link (one Toxiproxy proxy each)."""

    GLASSES = "glasses-link"
    APP = "app-link"
    WEBHOOK = "webhook-link"


class Direction(enum.StrEnum):
    """Which way a toxic acts: ``upstream`` client→cloud, ``downstream`` cloud→client."""

    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"
    BOTH = "both"


class ProcessTarget(enum.StrEnum):
    CLOUD = "cloud"
    APPS = "apps"
    GLASSES = "glasses"


class ProcessAction(enum.StrEnum):
    """``kill`` SIGKILL (restarted after ``duration_s`` if > 0, else stays dead);
    ``pause`` SIGSTOP then SIGCONT after ``duration_s``; ``restart`` graceful stop, then
    start again after ``duration_s``."""

    KILL = "kill"
    PAUSE = "pause"
    RESTART = "restart"


class ActionPhase(enum.StrEnum):
    """A timeline action starts a fault (``fault_start``) or heals it (``fault_end``)."""

    START = "fault_start"
    END = "fault_end"


@dataclass(frozen=True, slots=True)
class Down:
    """Marker toxic: the proxy is disabled (live connections reset, new ones refused)."""

    TYPE = "down"


# --- helpers ------------------------------------------------------------------------------


def _num(owner: str, key: str, value: object, *, minimum: float | None = None,
         strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{owner}{key}: must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ScenarioError(f"{owner}{key}: must be finite, got {value!r}")
    if minimum is not None:
        if strict and not number > minimum:
            raise ScenarioError(f"{owner}{key}: must be > {minimum:g}, got {value!r}")
        if not strict and number < minimum:
            raise ScenarioError(f"{owner}{key}: must be >= {minimum:g}, got {value!r}")
    return number


def _int(owner: str, key: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{owner}{key}: must be an integer, got {value!r}")
    if value < minimum:
        raise ScenarioError(f"{owner}{key}: must be >= {minimum}, got {value!r}")
    return value


def _enum(owner: str, key: str, cls: type[enum.StrEnum], value: object) -> Any:
    try:
        return cls(value)  # type: ignore[arg-type]
    except ValueError:
        known = " | ".join(m.value for m in cls)
        raise ScenarioError(f"{owner}{key}: expected one of {known}, got {value!r}") from None


def _strs(owner: str, key: str, value: object, *, allow_empty: bool = True) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, tuple | list):
        raise ScenarioError(f"{owner}{key}: must be a tuple of strings, got {value!r}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise ScenarioError(f"{owner}{key}[{i}]: must be a non-empty string, got {item!r}")
    if not allow_empty and not value:
        raise ScenarioError(f"{owner}{key}: must not be empty")
    return tuple(value)


_TIME_FIELDS: Mapping[type[ToxicSpec], tuple[str, ...]] = {
    Latency: ("latency", "jitter"),
    SlowClose: ("delay",),
    Timeout: ("timeout",),
    ResetPeer: ("timeout",),
    Slicer: ("delay_us",),
    WsDelay: ("latency", "jitter"),
    WsClose: ("after_ms", "tcp_close_after"),
}


def scale_toxic(toxic: ToxicSpec, factor: float) -> ToxicSpec:
    """The toxic with its time attributes × ``factor`` (Bandwidth's rate ÷ ``factor``).

    Times are rounded to integers; a non-zero time never rounds to 0 (0 often means
    "forever", e.g. ``Timeout(0)``), and a zero time stays 0.
    """
    changes: dict[str, int] = {}
    for key in _TIME_FIELDS.get(type(toxic), ()):
        value = getattr(toxic, key)
        if value:
            changes[key] = max(1, round(value * factor))
    if isinstance(toxic, Bandwidth) and toxic.rate:
        changes["rate"] = max(1, round(toxic.rate / factor))
    return dataclasses.replace(toxic, **changes) if changes else toxic  # type: ignore[arg-type]


# --- fleet and cloud ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """The simulated clients: ``users`` glasses, each with ``apps_per_user`` apps.

    Rates are per scenario second (``event_rate_hz`` per stream per user; wall rate =
    rate ÷ ``time_scale``); ``probe_interval_s`` (0 = no echo probes) is scaled like
    every other time."""

    users: int = 4
    apps_per_user: int = 1
    packages: tuple[str, ...] | None = None
    event_rate_hz: float = 1.0
    streams: tuple[str, ...] = ("head_position",)
    probe_interval_s: float = 5.0
    glasses_policy: Literal["android", "ios"] = "android"
    app_profile: Literal["sdk_2_1", "sdk_2_0"] = "sdk_2_1"
    hyphenated: bool = False
    ramp_users_per_s: float = 50.0
    seed: int = 1

    def __post_init__(self) -> None:
        o = "fleet."
        _int(o, "users", self.users, minimum=1)
        _int(o, "apps_per_user", self.apps_per_user, minimum=0)
        if self.packages is not None:
            pk = _strs(o, "packages", self.packages)
            if len(pk) != self.apps_per_user:
                raise ScenarioError(
                    f"fleet.packages: must name apps_per_user={self.apps_per_user} packages, "
                    f"got {len(pk)}"
                )
            if len(set(pk)) != len(pk):
                raise ScenarioError(f"fleet.packages: duplicate package in {pk!r}")
            object.__setattr__(self, "packages", pk)
        _num(o, "event_rate_hz", self.event_rate_hz, minimum=0)
        object.__setattr__(self, "streams", _strs(o, "streams", self.streams, allow_empty=False))
        _num(o, "probe_interval_s", self.probe_interval_s, minimum=0)
        if self.glasses_policy not in ("android", "ios"):
            raise ScenarioError(
                f"fleet.glasses_policy: expected android | ios, got {self.glasses_policy!r}"
            )
        if self.app_profile not in ("sdk_2_1", "sdk_2_0"):
            raise ScenarioError(
                f"fleet.app_profile: expected sdk_2_1 | sdk_2_0, got {self.app_profile!r}"
            )
        if not isinstance(self.hyphenated, bool):
            raise ScenarioError(f"fleet.hyphenated: must be a bool, got {self.hyphenated!r}")
        _num(o, "ramp_users_per_s", self.ramp_users_per_s, minimum=0, strict=True)
        _int(o, "seed", self.seed, minimum=0)

    def package_names(self) -> tuple[str, ...]:
        """``packages``, or derived names (with hyphens when ``hyphenated``)."""
        if self.packages is not None:
            return self.packages
        if self.hyphenated:
            return tuple(f"com.ws-quake.app-{i + 1}" for i in range(self.apps_per_user))
        return tuple(f"com.wsquake.app{i + 1}" for i in range(self.apps_per_user))

    def user_ids(self) -> tuple[str, ...]:
        """The fleet's emails, e.g. ``user-0001@example.com`` (hyphenated: ``anne-marie-…``)."""
        if self.hyphenated:
            return tuple(f"anne-marie-{i + 1:04d}@ex-ample.com" for i in range(self.users))
        return tuple(f"user-{i + 1:04d}@example.com" for i in range(self.users))

    @property
    def sessions(self) -> int:
        """App sessions in the fleet (users × apps per user)."""
        return self.users * self.apps_per_user


_TIMING_FIELDS = {f.name: f for f in fields(Timings) if f.name != "time_scale"}


@dataclass(frozen=True, slots=True)
class CloudSpec:
    """Cloud settings for the run: timing overrides (scenario units), defects, profile."""

    timings: Mapping[str, float] = field(default_factory=dict, hash=False)
    defects: tuple[str, ...] = ()
    profile: Literal["fixed", "upstream"] = "fixed"

    def __post_init__(self) -> None:
        if not isinstance(self.timings, Mapping):
            raise ScenarioError(f"cloud.timings: must be a mapping, got {self.timings!r}")
        clean: dict[str, float] = {}
        for key, value in self.timings.items():
            spec = _TIMING_FIELDS.get(key) if isinstance(key, str) else None
            if spec is None:
                known = ", ".join(sorted(_TIMING_FIELDS))
                raise ScenarioError(f"cloud.timings.{key}: unknown timing (known: {known})")
            minimum = spec.metadata.get("min", 0)
            if spec.type in (int, "int"):
                clean[key] = _int("cloud.timings.", key, value, minimum=int(minimum))
            else:
                clean[key] = _num("cloud.timings.", key, value, minimum=float(minimum))
        object.__setattr__(self, "timings", types.MappingProxyType(clean))
        defects = _strs("cloud.", "defects", self.defects)
        for i, name in enumerate(defects):
            if name not in DEFECT_NAMES and name not in SDK_DEFECT_NAMES:
                known = ", ".join((*DEFECT_NAMES, *SDK_DEFECT_NAMES))
                raise ScenarioError(f"cloud.defects[{i}]: unknown defect {name!r} (known: {known})")
        object.__setattr__(self, "defects", defects)
        if self.profile not in ("fixed", "upstream"):
            raise ScenarioError(f"cloud.profile: expected fixed | upstream, got {self.profile!r}")

    def timing(self, key: str) -> float:
        """A timing in scenario units (the override, else the :class:`Timings` default)."""
        if key not in _TIMING_FIELDS:
            raise ScenarioError(f"cloud.timings.{key}: unknown timing")
        if key in self.timings:
            return float(self.timings[key])
        return float(getattr(Timings(), key))

    def build_timings(self, time_scale: float) -> Timings:
        """The cloud's :class:`Timings` with the overrides and ``time_scale`` set."""
        return Timings(time_scale=time_scale, **self.timings)  # type: ignore[arg-type]

    def cloud_defects(self) -> tuple[str, ...]:
        """The cloud switches (``defects.<name>``) to turn on."""
        return tuple(d for d in self.defects if d in DEFECT_NAMES)

    def sdk_defects(self) -> tuple[str, ...]:
        """The app-simulator switches (``sdk.<name>``, without the prefix)."""
        return tuple(d.removeprefix("sdk.") for d in self.defects if d in SDK_DEFECT_NAMES)


# --- steps ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FaultStep:
    """A toxic on one link from ``at_s`` for ``duration_s``, ``repeat`` times every ``every_s``.

    ``direction`` overrides the toxic's own ``stream`` (``both`` = one toxic per
    direction); ``toxicity`` overrides the toxic's toxicity. ``Down()`` disables the proxy.
    """

    link: Link
    toxic: ToxicSpec | Down
    at_s: float
    duration_s: float
    direction: Direction = Direction.BOTH
    toxicity: float = 1.0
    repeat: int = 1
    every_s: float | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        o = "FaultStep."
        object.__setattr__(self, "link", _enum(o, "link", Link, self.link))
        if not isinstance(self.toxic, ToxicSpec | Down):
            raise ScenarioError(
                "FaultStep.toxic: must be a wsquake.faults.client toxic builder (Latency(...), "
                f"Timeout(...), WsDrop(...), ...) or Down(), got {self.toxic!r}"
            )
        object.__setattr__(self, "at_s", _num(o, "at_s", self.at_s, minimum=0))
        object.__setattr__(
            self, "duration_s", _num(o, "duration_s", self.duration_s, minimum=0, strict=True)
        )
        object.__setattr__(self, "direction", _enum(o, "direction", Direction, self.direction))
        t = _num(o, "toxicity", self.toxicity, minimum=0)
        object.__setattr__(self, "toxicity", t)
        if t > 1:
            raise ScenarioError(f"{o}toxicity: must be between 0 and 1, got {self.toxicity!r}")
        _int(o, "repeat", self.repeat, minimum=1)
        if self.every_s is None:
            if self.repeat > 1:
                raise ScenarioError(f"{o}every_s: required when repeat > 1, got None")
        else:
            every = _num(o, "every_s", self.every_s, minimum=0, strict=True)
            object.__setattr__(self, "every_s", every)
            if every <= self.duration_s:
                raise ScenarioError(
                    f"{o}every_s: must be > duration_s={self.duration_s:g} so windows do "
                    f"not overlap, got {self.every_s!r}"
                )
        if self.name is not None and (
            not isinstance(self.name, str) or not _STEP_NAME.match(self.name)
        ):
            raise ScenarioError(f"{o}name: letters, digits and _.:#- only, got {self.name!r}")

    @property
    def toxic_type(self) -> str:
        return self.toxic.TYPE

    @property
    def target(self) -> str:
        return self.link.value

    def windows(self) -> tuple[tuple[float, float], ...]:
        """``(start_s, end_s)`` of every window (``repeat`` of them)."""
        every = self.every_s or 0.0
        return tuple(
            (self.at_s + k * every, self.at_s + k * every + self.duration_s)
            for k in range(self.repeat)
        )

    def toxics(self, time_scale: float = 1.0) -> tuple[ToxicSpec, ...]:
        """The toxics to create (one per direction), scaled; ``()`` for ``Down()``."""
        if isinstance(self.toxic, Down):
            return ()
        streams = (
            (Stream.UPSTREAM, Stream.DOWNSTREAM)
            if self.direction is Direction.BOTH
            else (Stream(self.direction.value),)
        )
        base = scale_toxic(self.toxic, time_scale)
        out = []
        for stream in streams:
            name = f"{self.toxic.name or self.toxic.TYPE}_{stream.value}"
            out.append(
                dataclasses.replace(base, stream=stream, toxicity=self.toxicity, name=name)
            )
        return tuple(out)


@dataclass(frozen=True, slots=True)
class ProcessStep:
    """Kill, pause or restart a component at ``at_s`` (see :class:`ProcessAction`)."""

    target: ProcessTarget
    action: ProcessAction
    at_s: float
    duration_s: float = 0.0
    name: str | None = None

    def __post_init__(self) -> None:
        o = "ProcessStep."
        object.__setattr__(self, "target", _enum(o, "target", ProcessTarget, self.target))
        object.__setattr__(self, "action", _enum(o, "action", ProcessAction, self.action))
        object.__setattr__(self, "at_s", _num(o, "at_s", self.at_s, minimum=0))
        object.__setattr__(self, "duration_s", _num(o, "duration_s", self.duration_s, minimum=0))
        if self.action is ProcessAction.PAUSE and self.duration_s <= 0:
            raise ScenarioError(
                f"{o}duration_s: a pause needs a length > 0, got {self.duration_s!r}"
            )
        if self.name is not None and (
            not isinstance(self.name, str) or not _STEP_NAME.match(self.name)
        ):
            raise ScenarioError(f"{o}name: letters, digits and _.:#- only, got {self.name!r}")

    @property
    def toxic_type(self) -> str:
        return self.action.value

    @property
    def link(self) -> None:
        return None

    def windows(self) -> tuple[tuple[float, float], ...]:
        """One window; a kill with ``duration_s == 0`` never ends (end = ``inf``)."""
        if self.action is ProcessAction.KILL and self.duration_s == 0:
            return ((self.at_s, math.inf),)
        return ((self.at_s, self.at_s + self.duration_s),)


Step = FaultStep | ProcessStep


@dataclass(frozen=True, slots=True)
class TimelineAction:
    """One scheduled action: start or end of window ``window`` of step ``step_index``.

    The runner records it as a ``fault_start``/``fault_end`` event with
    ``fault=<fault>``, ``target=<target>``, ``toxic=<toxic>``, ``step=<step_index>``.
    """

    at_s: float
    phase: ActionPhase
    step_index: int
    window: int
    step: Step
    fault: str
    target: str
    toxic: str


# --- checks ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """Which checker runs and the thresholds its metrics must meet."""

    name: str
    thresholds: tuple[Threshold, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.name not in CHECK_NAMES:
            raise ScenarioError(
                f"checks: unknown check {self.name!r} (known: {', '.join(CHECK_NAMES)})"
            )
        thresholds: object = self.thresholds
        if isinstance(thresholds, str | Threshold) or not isinstance(thresholds, tuple | list):
            raise ScenarioError(
                f"checks[{self.name}].thresholds: must be a tuple, got {self.thresholds!r}"
            )
        parsed: list[Threshold] = []
        for i, th in enumerate(thresholds):
            try:
                t = th if isinstance(th, Threshold) else Threshold(th)
            except ThresholdError as exc:
                raise ScenarioError(f"checks[{self.name}].thresholds[{i}]: {exc}") from None
            if t.check != self.name:
                raise ScenarioError(
                    f"checks[{self.name}].thresholds[{i}]: {t.text!r} is about check "
                    f"{t.check!r}, not {self.name!r}"
                )
            parsed.append(t)
        object.__setattr__(self, "thresholds", tuple(parsed))
        if not isinstance(self.options, Mapping):
            raise ScenarioError(f"checks[{self.name}].options: must be a mapping")
        object.__setattr__(self, "options", types.MappingProxyType(dict(self.options)))

    @classmethod
    def of(cls, name: str, *thresholds: str, **options: Any) -> CheckSpec:
        """``CheckSpec.of("recovery", "recovery.rate >= 0.99", max_examples=3)``."""
        return cls(name, tuple(thresholds), options)  # type: ignore[arg-type]


DEFAULT_CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec.of("recovery", "recovery.never == 0", "recovery.rate >= 0.99"),
    CheckSpec.of("delivery", "delivery.lost_after_recovery == 0", "delivery.duplicated == 0"),
    CheckSpec.of("subscriptions", "subscriptions.restored_rate >= 1"),
    CheckSpec.of(
        "leaks",
        "leaks.zombie_sessions == 0",
        "leaks.orphan_app_connections == 0",
        "leaks.stuck_loading == 0",
    ),
    CheckSpec.of("health"),
    CheckSpec.of("lifecycle", "lifecycle.start_success_rate >= 1",
                 "lifecycle.duplicate_sessions == 0"),
)


# --- scenario -------------------------------------------------------------------------------


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
        _num("", "time_scale", self.time_scale, minimum=0, strict=True)
        _num("", "warmup_s", self.warmup_s, minimum=0)
        _num("", "recovery_window_s", self.recovery_window_s, minimum=0, strict=True)
        if self.quiesce_s is not None:
            _num("", "quiesce_s", self.quiesce_s, minimum=0)
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
        object.__setattr__(self, "tags", _strs("", "tags", self.tags))

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
        for key in _TIMING_FIELDS:
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
