"""What every checker shares: results, examples, fault episodes and phases.

A checker is a pure function ``check_x(frames, scenario, options) -> CheckResult``. It
computes metrics and its own verdict (``unknown`` when the history lacks the evidence,
``fail`` for invariants that always fail, else ``pass``); :func:`apply_thresholds` then
evaluates the scenario's thresholds and combines both with :func:`worst`.

**Scenario seconds.** Every ``_s`` metric is wall seconds ÷ ``scenario.time_scale``.

**Episodes.** Fault windows (``HistoryFrames.faults``) that affect a role are merged when
the gap between them is shorter than the recovery window, so a flapping link is one
episode from its first start to its last end. Targets affect roles as
:data:`TARGET_ROLES` says; an unknown target affects everyone.

**Phases** of a time ``t`` (used by delivery): ``fault`` inside any fault window;
``recovery`` within ``recovery_window_s`` after a window's end; ``steady`` before the
first fault; ``after`` anything later.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from wsquake.history.frame import HistoryFrames
from wsquake.scenarios.model import Scenario
from wsquake.scenarios.thresholds import ThresholdResult, Verdict, worst

__all__ = [
    "TARGET_ROLES",
    "CheckResult",
    "Episode",
    "Example",
    "MetricValue",
    "apply_thresholds",
    "episodes",
    "percentile",
    "phases",
]

MetricValue = float | int | None

TARGET_ROLES: Mapping[str, frozenset[str]] = {
    "glasses-link": frozenset({"glasses"}),
    "app-link": frozenset({"app"}),
    "webhook-link": frozenset({"app"}),
    "cloud": frozenset({"glasses", "app"}),
    "apps": frozenset({"app"}),
    "glasses": frozenset({"glasses"}),
}
_ALL = frozenset({"glasses", "app"})


@dataclass(frozen=True, slots=True)
class Example:
    """One example session: who, what happened, and its events around it."""

    component: str
    client_id: str
    outcome: str
    detail: str
    events: tuple[Mapping[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "client_id": self.client_id,
            "outcome": self.outcome,
            "detail": self.detail,
            "events": [dict(e) for e in self.events],
        }


@dataclass(frozen=True, slots=True)
class CheckResult:
    """A checker's verdict, metrics (stable keys), examples and thresholds."""

    name: str
    verdict: Verdict
    metrics: dict[str, MetricValue]
    examples: tuple[Example, ...] = ()
    summary: str = ""
    thresholds: tuple[ThresholdResult, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict.value,
            "summary": self.summary,
            "metrics": dict(self.metrics),
            "thresholds": [t.to_json() for t in self.thresholds],
            "examples": [e.to_json() for e in self.examples],
        }


def apply_thresholds(result: CheckResult, scenario: Scenario) -> CheckResult:
    """Evaluate the scenario's thresholds for this check and combine the verdicts."""
    spec = scenario.check(result.name)
    if spec is None:
        return result
    symbols = scenario.symbols()
    evaluated = tuple(t.evaluate(result.metrics, symbols) for t in spec.thresholds)
    verdict = worst([result.verdict, *(t.verdict for t in evaluated)])
    return CheckResult(result.name, verdict, result.metrics, result.examples, result.summary,
                       evaluated)


@dataclass(frozen=True, slots=True)
class Episode:
    """Merged fault windows affecting a role, in wall ns."""

    start_ns: int
    end_ns: int
    faults: tuple[str, ...]
    targets: tuple[str, ...]
    toxics: tuple[str, ...]

    def deadline_ns(self, recovery_ns: int) -> int:
        return self.end_ns + recovery_ns


def recovery_ns(scenario: Scenario) -> int:
    return int(scenario.recovery_window_s * scenario.time_scale * 1e9)


def to_scenario_s(ns: Any, scenario: Scenario) -> Any:
    """Wall ns (scalar or array) → scenario seconds."""
    return ns / 1e9 / scenario.time_scale


def episodes(frames: HistoryFrames, scenario: Scenario, role: str | None = None,
             toxics: Sequence[str] | None = None) -> list[Episode]:
    """The fault episodes affecting ``role`` (all when ``None``), optionally by toxic."""
    faults = frames.faults
    if faults.empty:
        return []
    rows = []
    for fault, target, toxic, start, end in zip(
        faults["fault"], faults["target"], faults["toxic"], faults["start_ns"],
        faults["end_ns"], strict=True,
    ):
        roles = TARGET_ROLES.get(str(target), _ALL) if isinstance(target, str) else _ALL
        if role is not None and role not in roles:
            continue
        if toxics is not None and toxic not in toxics:
            continue
        rows.append((int(start), int(end), str(fault), str(target), str(toxic)))
    rows.sort()
    gap = recovery_ns(scenario)
    out: list[Episode] = []
    for start, end, fault, target, toxic in rows:
        if out and start <= out[-1].end_ns + gap:
            last = out[-1]
            out[-1] = Episode(
                last.start_ns, max(last.end_ns, end),
                tuple(dict.fromkeys((*last.faults, fault))),
                tuple(dict.fromkeys((*last.targets, target))),
                tuple(dict.fromkeys((*last.toxics, toxic))),
            )
        else:
            out.append(Episode(start, end, (fault,), (target,), (toxic,)))
    return out


def phases(t: pd.Series | np.ndarray, frames: HistoryFrames, scenario: Scenario) -> np.ndarray:
    """The phase (steady / fault / recovery / after) of every time in ``t`` (wall ns)."""
    times = np.asarray(t, dtype="int64")
    out = np.full(len(times), "after", dtype=object)
    faults = frames.faults
    if faults.empty:
        out[:] = "steady"
        return out
    gap = recovery_ns(scenario)
    recovery = np.zeros(len(times), dtype=bool)
    fault = np.zeros(len(times), dtype=bool)
    for start, end in zip(faults["start_ns"], faults["end_ns"], strict=True):
        fault |= (times >= start) & (times <= end)
        recovery |= (times > end) & (times <= end + gap)
    first = int(faults["start_ns"].min())
    out[times < first] = "steady"
    out[recovery] = "recovery"
    out[fault] = "fault"
    return out


def percentile(values: Sequence[float] | np.ndarray, q: float) -> float | None:
    """The q-th percentile (linear), ``None`` for no values."""
    arr = np.asarray(values, dtype=float)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return None
    return round(float(np.percentile(arr, q)), 6)


def rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, 6)


def finite_or_none(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    return value
