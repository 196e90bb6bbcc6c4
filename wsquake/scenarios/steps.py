"""Timeline steps: fault steps on a proxied link, process steps, and timeline actions.

All times are scenario seconds (multiplied by ``Scenario.time_scale`` at run time).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

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
from wsquake.scenarios.exceptions import ScenarioError
from wsquake.scenarios.validation import check_enum, check_int, check_num

__all__ = [
    "ActionPhase",
    "Direction",
    "Down",
    "FaultStep",
    "Link",
    "ProcessAction",
    "ProcessStep",
    "ProcessTarget",
    "Step",
    "TimelineAction",
    "scale_toxic",
]

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
        object.__setattr__(self, "link", check_enum(o, "link", Link, self.link))
        if not isinstance(self.toxic, ToxicSpec | Down):
            raise ScenarioError(
                "FaultStep.toxic: must be a wsquake.faults.client toxic builder (Latency(...), "
                f"Timeout(...), WsDrop(...), ...) or Down(), got {self.toxic!r}"
            )
        object.__setattr__(self, "at_s", check_num(o, "at_s", self.at_s, minimum=0))
        object.__setattr__(
            self, "duration_s", check_num(o, "duration_s", self.duration_s, minimum=0, strict=True)
        )
        object.__setattr__(self, "direction", check_enum(o, "direction", Direction, self.direction))
        t = check_num(o, "toxicity", self.toxicity, minimum=0)
        object.__setattr__(self, "toxicity", t)
        if t > 1:
            raise ScenarioError(f"{o}toxicity: must be between 0 and 1, got {self.toxicity!r}")
        check_int(o, "repeat", self.repeat, minimum=1)
        if self.every_s is None:
            if self.repeat > 1:
                raise ScenarioError(f"{o}every_s: required when repeat > 1, got None")
        else:
            every = check_num(o, "every_s", self.every_s, minimum=0, strict=True)
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
        object.__setattr__(self, "target", check_enum(o, "target", ProcessTarget, self.target))
        object.__setattr__(self, "action", check_enum(o, "action", ProcessAction, self.action))
        object.__setattr__(self, "at_s", check_num(o, "at_s", self.at_s, minimum=0))
        duration = check_num(o, "duration_s", self.duration_s, minimum=0)
        object.__setattr__(self, "duration_s", duration)
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
