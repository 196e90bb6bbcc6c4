"""Fleet, cloud and check specifications of a scenario."""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from wsquake.cloud.settings import DEFECT_NAMES, Timings
from wsquake.scenarios.exceptions import ScenarioError, ThresholdError
from wsquake.scenarios.thresholds import Threshold
from wsquake.scenarios.validation import check_int, check_num, check_strs

__all__ = [
    "CHECK_NAMES",
    "DEFAULT_CHECKS",
    "SDK_DEFECT_NAMES",
    "TIMING_KEYS",
    "CheckSpec",
    "CloudSpec",
    "FleetSpec",
    "LoadSpec",
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
        check_int(o, "users", self.users, minimum=1)
        check_int(o, "apps_per_user", self.apps_per_user, minimum=0)
        if self.packages is not None:
            pk = check_strs(o, "packages", self.packages)
            if len(pk) != self.apps_per_user:
                raise ScenarioError(
                    f"fleet.packages: must name apps_per_user={self.apps_per_user} packages, "
                    f"got {len(pk)}"
                )
            if len(set(pk)) != len(pk):
                raise ScenarioError(f"fleet.packages: duplicate package in {pk!r}")
            object.__setattr__(self, "packages", pk)
        check_num(o, "event_rate_hz", self.event_rate_hz, minimum=0)
        streams = check_strs(o, "streams", self.streams, allow_empty=False)
        object.__setattr__(self, "streams", streams)
        check_num(o, "probe_interval_s", self.probe_interval_s, minimum=0)
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
        check_num(o, "ramp_users_per_s", self.ramp_users_per_s, minimum=0, strict=True)
        check_int(o, "seed", self.seed, minimum=0)

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


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """A Locust background fleet (``wsquake load``): ``users`` glasses spawned at
    ``spawn_rate`` users per wall second over ``workers`` worker processes, each user
    starting the fleet's apps and sending an echo probe every ``probe_interval_s``
    (scenario seconds, scaled like every other time). Its users go through
    ``glasses-link`` too, so the scenario's faults hit them."""

    users: int = 100
    spawn_rate: float = 50.0
    workers: int = 1
    probe_interval_s: float = 5.0

    def __post_init__(self) -> None:
        o = "load."
        check_int(o, "users", self.users, minimum=1)
        check_num(o, "spawn_rate", self.spawn_rate, minimum=0, strict=True)
        check_int(o, "workers", self.workers, minimum=1)
        check_num(o, "probe_interval_s", self.probe_interval_s, minimum=0)


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
                clean[key] = check_int("cloud.timings.", key, value, minimum=int(minimum))
            else:
                clean[key] = check_num("cloud.timings.", key, value, minimum=float(minimum))
        object.__setattr__(self, "timings", types.MappingProxyType(clean))
        defects = check_strs("cloud.", "defects", self.defects)
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


TIMING_KEYS: tuple[str, ...] = tuple(_TIMING_FIELDS)


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
