"""Run-to-run comparison: the delta of every metric, judged by regression rules.

A *snapshot* is what is compared: per scenario, its verdict and every ``check.metric``
value. It comes from a run directory, a ``summary.json``, or a ``baseline.json``
(:mod:`wsquake.reports.exports`). :func:`compare` pairs the scenarios by name and gives a
:class:`Comparison` with two frames:

``metrics``
    ``scenario, key, base, new, delta, rel, worse, rule, status`` where ``status`` is
    ``regression`` / ``improved`` (worse/better beyond the rule's noise band), ``same``
    (within it), ``changed`` (no rule: informational), ``new`` / ``no evidence`` (one
    side has no value);
``verdicts``
    ``scenario, base, new, status`` (``regression`` when the verdict got worse:
    pass < unknown < fail < error; ``missing`` / ``new`` for unpaired scenarios).

A :class:`Rule` matches ``check.metric`` (``fnmatch`` pattern; the first match wins) and
says which direction is worse and how big a change must be to count: worse by more than
``rel`` × |base| **and** more than ``abs`` (and, for times, more than ``wall`` seconds of
wall time, i.e. ``wall / time_scale`` scenario seconds). :data:`DEFAULT_RULES`: recovery
and detection times worse by > 20 %, > 0.5 s and > 0.15 s wall; rates down by > 0.01;
any new loss after recovery, steady-state loss, never-recovered or late connection,
leak, undetected blackhole, duplicate session; everything else is shown, never flagged.
"""

from __future__ import annotations

import enum
import fnmatch
import json
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from wsquake.reports.exceptions import BaselineError, ReportError
from wsquake.reports.exports import BASELINE_SCHEMA
from wsquake.reports.model import VERDICT_RANK, RunModel, format_value, load_run

__all__ = [
    "DEFAULT_RULES",
    "Comparison",
    "Rule",
    "Snapshot",
    "Worse",
    "compare",
    "format_comparison",
    "format_comparison_markdown",
    "load_rules",
    "load_snapshot",
    "snapshot_of",
]

METRIC_COLUMNS = ("scenario", "key", "base", "new", "delta", "rel", "worse", "rule", "status")
VERDICT_COLUMNS = ("scenario", "base", "new", "status")


class Worse(enum.Enum):
    HIGHER = "higher"
    LOWER = "lower"
    NONE = "none"  # informational: shown, never flagged


@dataclass(frozen=True, slots=True)
class Rule:
    """``pattern`` is worse in direction ``worse`` by more than ``rel``·|base|, ``abs`` and
    ``wall``/time_scale.

    ``wall`` is a band in wall seconds for ``_s`` metrics (which are scenario seconds):
    scheduling jitter is a constant in wall time, so at ``time_scale`` 0.1 a 0.05 s wall
    hiccup reads as 0.5 scenario seconds and must not count as a regression.
    """

    pattern: str
    worse: Worse
    rel: float = 0.0
    abs: float = 0.0
    wall: float = 0.0

    def __post_init__(self) -> None:
        for name in ("rel", "abs", "wall"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise BaselineError(f"rule {self.pattern!r}: {name}: must be a number >= 0, "
                                    f"got {value!r}")

    @property
    def text(self) -> str:
        if self.worse is Worse.NONE:
            return "info"
        arrow = "up" if self.worse is Worse.HIGHER else "down"
        if self.rel == 0 and self.abs == 0:
            return f"any {arrow}"
        parts = ([f">{format_value(self.rel * 100)}%"] if self.rel else []) + (
            [f">{format_value(self.abs)}"] if self.abs else []) + (
            [f">{format_value(self.wall)}s wall"] if self.wall else [])
        return f"{arrow} {' & '.join(parts)}"

    def band(self, base: float, time_scale: float = 1.0) -> float:
        """How much worse (or better) a value must get to count."""
        wall = self.wall / time_scale if self.wall and time_scale > 0 else 0.0
        return max(self.abs, self.rel * abs(base), wall)

    def judge(self, base: float, new: float, time_scale: float = 1.0) -> str:
        """``regression`` / ``improved`` / ``same`` / ``changed`` (no direction)."""
        if self.worse is Worse.NONE:
            return "same" if base == new else "changed"
        worse_by = new - base if self.worse is Worse.HIGHER else base - new
        band = self.band(base, time_scale)
        if worse_by > band:
            return "regression"
        if -worse_by > band:
            return "improved"
        return "same"


_ANY = 0.0
DEFAULT_RULES: tuple[Rule, ...] = (
    # times (scenario seconds): > 20 %, > 0.5 s and > 0.15 s of wall time worse
    Rule("recovery.*_s", Worse.HIGHER, 0.2, 0.5, 0.15),
    Rule("health.detect_*_s", Worse.HIGHER, 0.2, 0.5, 0.15),
    # rates: down by more than one percentage point
    Rule("delivery.loss_rate", Worse.HIGHER, 0.2, 0.01),
    Rule("*rate", Worse.LOWER, _ANY, 0.01),
    # failures that must not appear: any increase
    Rule("delivery.lost_after_recovery", Worse.HIGHER),
    Rule("delivery.lost_after", Worse.HIGHER),
    Rule("delivery.lost_steady", Worse.HIGHER),
    Rule("delivery.duplicated", Worse.HIGHER, 0.2, 2),
    Rule("delivery.reordered", Worse.HIGHER, 0.2, 2),
    Rule("recovery.never", Worse.HIGHER),
    Rule("recovery.late", Worse.HIGHER),
    Rule("recovery.*_never", Worse.HIGHER),
    Rule("recovery.*_late", Worse.HIGHER),
    Rule("recovery.unprovoked_losses", Worse.HIGHER),
    Rule("leaks.zombie_sessions", Worse.HIGHER),
    Rule("leaks.orphan_app_connections", Worse.HIGHER),
    Rule("leaks.stuck_loading", Worse.HIGHER),
    Rule("leaks.connection_growth", Worse.HIGHER, _ANY, 1),
    Rule("health.undetected", Worse.HIGHER),
    Rule("lifecycle.duplicate_sessions", Worse.HIGHER),
    Rule("lifecycle.start_failures", Worse.HIGHER),
    Rule("lifecycle.webhook_failures", Worse.HIGHER, 0.5, 2),
    Rule("lifecycle.resurrections", Worse.HIGHER, 0.5, 2),
    Rule("*", Worse.NONE),
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a comparison reads of one run: verdicts and ``check.metric`` values."""

    label: str
    verdicts: Mapping[str, str]
    metrics: pd.DataFrame  # scenario, key, value
    time_scales: Mapping[str, float] = field(default_factory=dict)  # missing: 1.0


def snapshot_of(model: RunModel) -> Snapshot:
    verdicts = {str(s): str(v) for s, v in zip(model.scenarios["scenario"],
                                                model.scenarios["verdict"], strict=True)}
    scales = {str(s): float(t) for s, t in zip(model.scenarios["scenario"],
                                               model.scenarios["time_scale"], strict=True)
              if math.isfinite(float(t)) and float(t) > 0}
    return Snapshot(model.run_id, verdicts,
                    model.metrics[["scenario", "key", "value"]].reset_index(drop=True),
                    scales)


def _from_baseline(data: Mapping[str, Any], where: str) -> Snapshot:
    scenarios = data.get("scenarios")
    if not isinstance(scenarios, Mapping):
        raise BaselineError(f"{where}: scenarios: expected an object of scenario names")
    verdicts: dict[str, str] = {}
    scales: dict[str, float] = {}
    rows: list[dict[str, Any]] = []
    for name, entry in scenarios.items():
        if not isinstance(entry, Mapping):
            raise BaselineError(f"{where}: scenarios.{name}: expected an object")
        verdicts[str(name)] = str(entry.get("verdict", "unknown"))
        scale = entry.get("time_scale", 1.0)
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
            raise BaselineError(f"{where}: scenarios.{name}.time_scale: expected a number "
                                f"> 0, got {scale!r}")
        scales[str(name)] = float(scale)
        metrics = entry.get("metrics", {})
        if not isinstance(metrics, Mapping):
            raise BaselineError(f"{where}: scenarios.{name}.metrics: expected an object")
        for key, value in metrics.items():
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, int | float)):
                raise BaselineError(f"{where}: scenarios.{name}.metrics.{key}: expected a "
                                    f"number or null, got {value!r}")
            rows.append({"scenario": str(name), "key": str(key),
                         "value": math.nan if value is None else float(value)})
    frame = pd.DataFrame(rows, columns=["scenario", "key", "value"]).astype({"value": float})
    return Snapshot(str(data.get("run_id") or where), verdicts, frame, scales)


def load_snapshot(path: str | Path) -> Snapshot:
    """A run directory, a scenario folder, a ``summary.json`` or a ``baseline.json``."""
    target = Path(path)
    if target.is_file():
        try:
            data = json.loads(target.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BaselineError(f"{target}: cannot read a baseline: {exc}") from exc
        if isinstance(data, Mapping) and data.get("schema") == BASELINE_SCHEMA:
            return _from_baseline(data, str(target))
        if not (isinstance(data, Mapping) and data.get("schema") == 1):
            raise BaselineError(f"{target}: schema: expected {BASELINE_SCHEMA!r} (baseline) "
                                f"or 1 (summary.json), got "
                                f"{data.get('schema') if isinstance(data, Mapping) else data!r}")
        return snapshot_of(RunModel.from_summary(data, target.parent))
    try:
        return snapshot_of(load_run(target))
    except ReportError as exc:
        raise BaselineError(str(exc)) from exc


def load_rules(path: str | Path, *, defaults: Sequence[Rule] = DEFAULT_RULES) -> list[Rule]:
    """Rules from a TOML or JSON file, before the defaults (unless ``replace = true``).

    ``[[rule]]`` tables (JSON: ``{"rule": [...]}``) with ``metric`` (fnmatch pattern on
    ``check.metric``), ``worse`` (``higher``/``lower``/``none``), ``rel``, ``abs``,
    ``wall``.
    """
    target = Path(path)
    try:
        text = target.read_text("utf-8")
        data = json.loads(text) if target.suffix == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{target}: cannot read the rules: {exc}") from exc
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BaselineError(f"{target}: not valid {target.suffix or 'TOML'}: {exc}") from exc
    entries = data.get("rule", []) if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise BaselineError(f"{target}: rule: expected a list of tables")
    rules: list[Rule] = []
    for i, entry in enumerate(entries):
        where = f"{target}: rule[{i}]"
        if not isinstance(entry, Mapping):
            raise BaselineError(f"{where}: expected a table")
        unknown = set(entry) - {"metric", "worse", "rel", "abs", "wall"}
        if unknown:
            raise BaselineError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        pattern = entry.get("metric")
        if not isinstance(pattern, str) or not pattern:
            raise BaselineError(f"{where}.metric: expected a pattern like 'recovery.p95_s'")
        try:
            worse = Worse(entry.get("worse", "higher"))
        except ValueError:
            raise BaselineError(f"{where}.worse: expected higher, lower or none, got "
                                f"{entry.get('worse')!r}") from None
        try:
            rules.append(Rule(pattern, worse, entry.get("rel", 0.0), entry.get("abs", 0.0),
                              entry.get("wall", 0.0)))
        except BaselineError as exc:
            raise BaselineError(f"{where}: {exc}") from None
    replace = isinstance(data, Mapping) and data.get("replace") is True
    return rules if replace else [*rules, *defaults]


def _rule_for(key: str, rules: Iterable[Rule]) -> Rule:
    for rule in rules:
        if fnmatch.fnmatchcase(key, rule.pattern):
            return rule
    return Rule("*", Worse.NONE)


@dataclass(frozen=True, slots=True)
class Comparison:
    base: str
    new: str
    metrics: pd.DataFrame
    verdicts: pd.DataFrame

    @property
    def regressions(self) -> pd.DataFrame:
        return self.metrics[self.metrics["status"] == "regression"]

    @property
    def worse_verdicts(self) -> pd.DataFrame:
        return self.verdicts[self.verdicts["status"] == "regression"]

    @property
    def regressed(self) -> bool:
        return bool(len(self.regressions) or len(self.worse_verdicts))

    def to_json(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return {
            "base": self.base, "new": self.new, "regressed": self.regressed,
            "verdicts": self.verdicts.to_dict(orient="records"),
            "metrics": [{k: clean(v) for k, v in row.items()}
                        for row in self.metrics.to_dict(orient="records")],
        }


def compare(base: Snapshot, new: Snapshot, rules: Sequence[Rule] = DEFAULT_RULES) -> Comparison:
    verdict_rows = []
    for name in [*base.verdicts, *(n for n in new.verdicts if n not in base.verdicts)]:
        was, now = base.verdicts.get(name), new.verdicts.get(name)
        if was is None or now is None:
            status = "new" if was is None else "missing"
        elif VERDICT_RANK.get(now, 1) > VERDICT_RANK.get(was, 1):
            status = "regression"
        elif VERDICT_RANK.get(now, 1) < VERDICT_RANK.get(was, 1):
            status = "improved"
        else:
            status = "same"
        verdict_rows.append({"scenario": name, "base": was, "new": now, "status": status})
    both = set(base.verdicts) & set(new.verdicts)
    merged = pd.merge(base.metrics[base.metrics["scenario"].isin(both)],
                      new.metrics[new.metrics["scenario"].isin(both)],
                      on=["scenario", "key"], how="outer", suffixes=("_base", "_new"),
                      sort=False)
    rows = []
    for scenario, key, base_value, new_value in zip(
            merged["scenario"], merged["key"], merged["value_base"], merged["value_new"],
            strict=True):
        rule = _rule_for(str(key), rules)
        b, n = float(base_value), float(new_value)
        if math.isnan(b) and math.isnan(n):
            status = "same"
        elif math.isnan(b):
            status = "new"
        elif math.isnan(n):
            status = "no evidence"
        else:
            scale = min(base.time_scales.get(str(scenario), 1.0),
                        new.time_scales.get(str(scenario), 1.0))
            status = rule.judge(b, n, scale)
        delta = n - b
        rel = delta / abs(b) if math.isfinite(delta) and b != 0 else math.nan
        rows.append({"scenario": scenario, "key": key, "base": b, "new": n, "delta": delta,
                     "rel": rel, "worse": rule.worse.value, "rule": rule.text,
                     "status": status})
    metrics = pd.DataFrame(rows, columns=list(METRIC_COLUMNS))
    order = {name: i for i, name in enumerate(r["scenario"] for r in verdict_rows)}
    metrics = metrics.sort_values("scenario", key=lambda s: s.map(order),
                                  kind="stable").reset_index(drop=True)
    return Comparison(base.label, new.label, metrics,
                      pd.DataFrame(verdict_rows, columns=list(VERDICT_COLUMNS)))


def _or_dash(value: Any) -> str:
    return str(value) if value else "-"


def _as_float(value: Any) -> float:
    return float(value)


def _pct(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value * 100:+.0f}%"


def format_comparison_markdown(result: Comparison, *, all_metrics: bool = False) -> str:
    """``comparison.md``: verdict changes, then the flagged (or all) metric deltas."""
    head = "❌ regression" if result.regressed else "✅ no regression"
    lines = [f"## wsquake compare `{result.base}` → `{result.new}`: {head}", "",
             "| scenario | base | new | |", "|---|---|---|---|"]
    for v in result.verdicts.itertuples(index=False):
        lines.append(f"| {v.scenario} | {_or_dash(v.base)} | {_or_dash(v.new)} | {v.status} |")
    shown = result.metrics if all_metrics else result.metrics[
        result.metrics["status"].isin(["regression", "improved"])]
    lines += ["", "| scenario | metric | base | new | delta | rule | status |",
              "|---|---|---:|---:|---:|---|---|"]
    for m in shown.itertuples(index=False):
        change = f"{format_value(m.delta)} ({_pct(_as_float(m.rel))})"
        lines.append(f"| {m.scenario} | `{m.key}` | {format_value(m.base)} | "
                     f"{format_value(m.new)} | {change} | {m.rule} | {m.status} |")
    if shown.empty:
        lines.append("| | no metric changed beyond its noise band | | | | | |")
    return "\n".join(lines) + "\n"


def format_comparison(result: Comparison, width: int = 80, *, all_metrics: bool = False,
                      color: bool = False) -> str:
    """The comparison as a terminal table (plain text unless ``color``)."""
    import io

    from rich import box
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=not color, highlight=False,
                      color_system="standard" if color else None, force_terminal=color)
    style = {"regression": "bold red", "improved": "green"}
    head = "REGRESSION" if result.regressed else "no regression"
    console.print(f"compare {result.base} -> {result.new}: {head}",
                  style="bold red" if result.regressed else "green")
    verdicts = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("scenario", "base", "new", "status"):
        verdicts.add_column(col, overflow="fold")
    for v in result.verdicts.itertuples(index=False):
        verdicts.add_row(str(v.scenario), _or_dash(v.base), _or_dash(v.new), str(v.status),
                         style=style.get(str(v.status), ""))
    console.print(verdicts)
    shown = result.metrics if all_metrics else result.metrics[
        result.metrics["status"].isin(["regression", "improved"])]
    if shown.empty:
        console.print("no metric changed beyond its noise band "
                      f"({len(result.metrics)} compared)")
    else:
        for scenario, rows in shown.groupby("scenario", sort=False):
            table = Table(title=str(scenario), box=box.SIMPLE_HEAD, pad_edge=False,
                          title_justify="left")
            table.add_column("metric", overflow="fold")
            for col in ("base", "new", "delta"):
                table.add_column(col, justify="right", no_wrap=True)
            table.add_column("status", no_wrap=True)
            for m in rows.itertuples(index=False):
                table.add_row(str(m.key), format_value(m.base), format_value(m.new),
                              f"{format_value(m.delta)} {_pct(_as_float(m.rel))}",
                              str(m.status), style=style.get(str(m.status), ""))
            console.print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
