"""A run directory as pandas DataFrames: the one input of every report.

:func:`load_run` reads ``summary.json`` (schema 1, docs/running.md) of a run
directory — a whole suite, or one scenario when given ``<run>/<scenario>/`` — into a
:class:`RunModel`:

``scenarios``
    one row per scenario: ``scenario, verdict, interrupted, error, dir, started_at,
    finished_at, duration_s, time_scale, events, truncated_lines, faults_applied,
    faults_healed, faults_rolled_back, checks, checks_failed, checks_unknown``.
``checks``
    one row per check: ``scenario, check, verdict, summary, examples``.
``thresholds``
    one row per evaluated threshold: ``scenario, check, expr, metric, op, verdict,
    measured, expected``.
``metrics``
    long form, one row per metric value: ``scenario, check, metric, key`` (``check.metric``,
    the name thresholds use) and ``value`` (float; NaN = no evidence, ``null`` in JSON).
``examples``
    one row per failing example: ``scenario, check, index, component, client_id,
    outcome, detail, events`` (the number of events attached).

Per scenario, :meth:`RunModel.frames` gives the history as
:class:`~wsquake.history.frame.HistoryFrames` (loaded lazily, cached) and
:meth:`RunModel.sessions` the per-client outage table the "worst sessions" views use.
Nothing else is read, so any run can be re-rendered later.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wsquake.history.frame import HistoryFrames
from wsquake.reports.exceptions import RunDirError

__all__ = [
    "CHECK_COLUMNS",
    "EXAMPLE_COLUMNS",
    "METRIC_COLUMNS",
    "SCENARIO_COLUMNS",
    "SESSION_COLUMNS",
    "THRESHOLD_COLUMNS",
    "format_value",
    "VERDICT_RANK",
    "RunModel",
    "load_run",
    "session_table",
    "worse_verdict",
]

logger = logging.getLogger(__name__)

#: Verdicts from best to worst (a scenario can also be ``error``: the harness broke).
VERDICT_RANK: Mapping[str, int] = {"pass": 0, "unknown": 1, "fail": 2, "error": 3}

SCENARIO_COLUMNS = ("scenario", "verdict", "interrupted", "error", "dir", "started_at",
                    "finished_at", "duration_s", "time_scale", "events", "truncated_lines",
                    "faults_applied", "faults_healed", "faults_rolled_back", "checks",
                    "checks_failed", "checks_unknown")
CHECK_COLUMNS = ("scenario", "check", "verdict", "summary", "examples")
THRESHOLD_COLUMNS = ("scenario", "check", "expr", "metric", "op", "verdict", "measured",
                     "expected")
METRIC_COLUMNS = ("scenario", "check", "metric", "key", "value")
EXAMPLE_COLUMNS = ("scenario", "check", "index", "component", "client_id", "outcome",
                   "detail", "events")
SESSION_COLUMNS = ("component", "client_id", "role", "connections", "losses",
                   "unrecovered", "longest_outage_s", "total_outage_s")


def worse_verdict(a: str, b: str) -> str:
    return a if VERDICT_RANK.get(a, 1) >= VERDICT_RANK.get(b, 1) else b


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return math.nan


def _frame(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(columns))


def _require(mapping: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(mapping, Mapping) or key not in mapping:
        raise RunDirError(f"{where}: missing {key!r}")
    value = mapping[key]
    if not isinstance(value, kind):
        raise RunDirError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, "
                          f"got {type(value).__name__}")
    return value


@dataclass(slots=True)
class RunModel:
    """A run's summary as DataFrames, plus lazy access to each scenario's history."""

    path: Path
    run: dict[str, Any]
    scenarios: pd.DataFrame
    checks: pd.DataFrame
    thresholds: pd.DataFrame
    metrics: pd.DataFrame
    examples: pd.DataFrame
    _frames: dict[str, HistoryFrames | None] = field(default_factory=dict, repr=False)

    # -- construction ------------------------------------------------------------------

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any], path: str | Path = ".",
                     *, only: str | None = None) -> RunModel:
        """From a parsed ``summary.json``; ``only`` keeps one scenario (by name or dir)."""
        where = str(Path(path) / "summary.json")
        if not isinstance(summary, Mapping):
            raise RunDirError(f"{where}: expected a JSON object, got {type(summary).__name__}")
        schema = summary.get("schema")
        if schema != 1:
            raise RunDirError(f"{where}: schema: expected 1, got {schema!r}")
        raw = _require(summary, "scenarios", list, where)
        if only is not None:
            raw = [s for s in raw if isinstance(s, Mapping)
                   and only in (s.get("name"), s.get("dir"))]
            if not raw:
                raise RunDirError(f"{where}: no scenario {only!r}")
        run = {k: summary.get(k) for k in ("schema", "run_id", "started_at", "finished_at",
                                            "interrupted", "verdict", "exit_code")}
        run["interrupted"] = bool(run["interrupted"])
        scen_rows: list[dict[str, Any]] = []
        check_rows: list[dict[str, Any]] = []
        thr_rows: list[dict[str, Any]] = []
        metric_rows: list[dict[str, Any]] = []
        ex_rows: list[dict[str, Any]] = []
        for i, s in enumerate(raw):
            sw = f"{where}: scenarios[{i}]"
            name = _require(s, "name", str, sw)
            checks = s.get("checks") or []
            if not isinstance(checks, list):
                raise RunDirError(f"{sw}.checks: expected a list, got {type(checks).__name__}")
            faults = s.get("faults") if isinstance(s.get("faults"), Mapping) else {}
            verdicts = [c.get("verdict") for c in checks if isinstance(c, Mapping)]
            scen_rows.append({
                "scenario": name, "verdict": str(s.get("verdict", "unknown")),
                "interrupted": bool(s.get("interrupted", False)),
                "error": str(s["error"]) if s.get("error") else None,
                "dir": str(s.get("dir") or name), "started_at": s.get("started_at"),
                "finished_at": s.get("finished_at"),
                "duration_s": _number(s.get("duration_s")),
                "time_scale": _number(s.get("time_scale", 1.0)),
                "events": int(s.get("events") or 0),
                "truncated_lines": int(s.get("truncated_lines") or 0),
                "faults_applied": int(faults.get("applied", 0)),
                "faults_healed": int(faults.get("healed", 0)),
                "faults_rolled_back": int(faults.get("rolled_back", 0)),
                "checks": len(checks), "checks_failed": verdicts.count("fail"),
                "checks_unknown": verdicts.count("unknown"),
            })
            for j, c in enumerate(checks):
                cw = f"{sw}.checks[{j}]"
                check = _require(c, "name", str, cw)
                examples = c.get("examples") or []
                check_rows.append({"scenario": name, "check": check,
                                   "verdict": str(c.get("verdict", "unknown")),
                                   "summary": str(c.get("summary") or ""),
                                   "examples": len(examples)})
                metrics = c.get("metrics") or {}
                if not isinstance(metrics, Mapping):
                    raise RunDirError(f"{cw}.metrics: expected an object")
                for metric, value in metrics.items():
                    metric_rows.append({"scenario": name, "check": check, "metric": metric,
                                        "key": f"{check}.{metric}", "value": _number(value)})
                for t in c.get("thresholds") or []:
                    if not isinstance(t, Mapping):
                        raise RunDirError(f"{cw}.thresholds: expected objects")
                    thr_rows.append({
                        "scenario": name, "check": check,
                        "expr": str(t.get("expr") or t.get("threshold") or ""),
                        "metric": str(t.get("metric") or ""), "op": str(t.get("op") or ""),
                        "verdict": str(t.get("verdict", "unknown")),
                        "measured": _number(t.get("measured")),
                        "expected": _number(t.get("expected")),
                    })
                for k, e in enumerate(examples):
                    if not isinstance(e, Mapping):
                        continue
                    events = e.get("events")
                    ex_rows.append({
                        "scenario": name, "check": check, "index": k,
                        "component": str(e.get("component") or ""),
                        "client_id": str(e.get("client_id") or ""),
                        "outcome": str(e.get("outcome") or ""),
                        "detail": str(e.get("detail") or ""),
                        "events": len(events) if isinstance(events, list) else 0,
                    })
        if only is not None:  # a one-scenario view: the run verdict is that scenario's
            run["verdict"] = scen_rows[0]["verdict"]
        scenarios = _frame(scen_rows, SCENARIO_COLUMNS)
        scenarios["interrupted"] = scenarios["interrupted"].astype(bool)
        scenarios["error"] = pd.Series([r["error"] or None for r in scen_rows], dtype=object)
        for col in ("duration_s", "time_scale"):
            scenarios[col] = scenarios[col].astype("float64")
        metrics_df = _frame(metric_rows, METRIC_COLUMNS)
        metrics_df["value"] = metrics_df["value"].astype("float64")
        thresholds = _frame(thr_rows, THRESHOLD_COLUMNS)
        for col in ("measured", "expected"):
            thresholds[col] = thresholds[col].astype("float64")
        return cls(Path(path), run, scenarios, _frame(check_rows, CHECK_COLUMNS),
                   thresholds, metrics_df, _frame(ex_rows, EXAMPLE_COLUMNS))

    # -- views -------------------------------------------------------------------------

    @property
    def run_id(self) -> str:
        return str(self.run.get("run_id") or self.path.name)

    @property
    def verdict(self) -> str:
        return str(self.run.get("verdict") or "unknown")

    @property
    def interrupted(self) -> bool:
        return bool(self.run.get("interrupted"))

    @property
    def scenario_names(self) -> list[str]:
        return [str(n) for n in self.scenarios["scenario"]]

    def scenario(self, name: str) -> pd.Series:
        rows = self.scenarios[self.scenarios["scenario"] == name]
        if rows.empty:
            raise KeyError(name)
        return rows.iloc[0]

    def metric(self, scenario: str, key: str) -> float:
        """``check.metric`` of one scenario (NaN when absent or without evidence)."""
        m = self.metrics
        rows = m[(m["scenario"] == scenario) & (m["key"] == key)]
        return float(rows["value"].iloc[0]) if len(rows) else math.nan

    def history_path(self, scenario: str) -> Path:
        return self.path / str(self.scenario(scenario)["dir"]) / "history.jsonl"

    def frames(self, scenario: str) -> HistoryFrames | None:
        """The scenario's history as frames (None without a ``history.jsonl``); cached."""
        if scenario not in self._frames:
            self._frames[scenario] = _load_frames(self.history_path(scenario))
        return self._frames[scenario]

    def sessions(self, scenario: str) -> pd.DataFrame:
        """Per client: connections, losses, outages (scenario seconds), worst first.

        An outage runs from a lost connection (closed by the peer or the network) to the
        client's next ``init ok``; without one, to the end of the history
        (``unrecovered``). Losses after the final audit probe (shutdown) are ignored.
        """
        frames = self.frames(scenario)
        if frames is None:
            return _frame([], SESSION_COLUMNS)
        scale = float(self.scenario(scenario)["time_scale"]) or 1.0
        return session_table(frames, time_scale=scale)


def session_table(frames: HistoryFrames, *, time_scale: float = 1.0) -> pd.DataFrame:
    """See :meth:`RunModel.sessions` (pure: frames in, table out)."""
    conns = frames.connections
    if conns.empty:
        return _frame([], SESSION_COLUMNS)
    keys = ["component", "client_id"]
    conns = conns[conns["role"].astype("object").isin(["glasses", "app"])]
    if conns.empty:
        return _frame([], SESSION_COLUMNS)
    probes = frames.cloud_probes
    cutoff = int(probes["t"].max()) if len(probes) else frames.end_ns
    table = conns.groupby(keys, observed=True).agg(
        role=("role", "first"), connections=("acked_ns", "count"))
    lost = conns[conns["lost"].astype(bool) & conns["closed_ns"].notna()
                 & (conns["closed_ns"] < cutoff)][keys + ["closed_ns"]].copy()
    lost["closed_ns"] = lost["closed_ns"].astype("int64")
    acks = frames.acks[["t", *keys]].astype({"component": "object", "client_id": "object"})
    for k in keys:
        lost[k] = lost[k].astype("object")
    if len(lost):
        lost = pd.merge_asof(lost.sort_values("closed_ns"),
                             acks.sort_values("t").rename(columns={"t": "next_ack"}),
                             left_on="closed_ns", right_on="next_ack", by=keys,
                             direction="forward", allow_exact_matches=False)
        end = float(frames.end_ns)
        lost["unrecovered"] = lost["next_ack"].isna()
        lost["outage_s"] = (lost["next_ack"].fillna(end).astype("float64")
                            - lost["closed_ns"]) / 1e9 / time_scale
        per = lost.groupby(keys).agg(losses=("closed_ns", "count"),
                                     unrecovered=("unrecovered", "sum"),
                                     longest_outage_s=("outage_s", "max"),
                                     total_outage_s=("outage_s", "sum"))
        table = table.join(per, how="left")
    else:
        for col in ("losses", "unrecovered", "longest_outage_s", "total_outage_s"):
            table[col] = np.nan
    table = table.reset_index()
    table["losses"] = table["losses"].fillna(0).astype("int64")
    table["unrecovered"] = table["unrecovered"].fillna(0).astype("int64")
    for col in ("longest_outage_s", "total_outage_s"):
        table[col] = table[col].fillna(0.0).astype("float64")
    for col in ("component", "client_id", "role"):
        table[col] = table[col].astype("object")
    table = table.sort_values(["unrecovered", "longest_outage_s", "losses", "client_id"],
                              ascending=[False, False, False, True], kind="stable")
    return table[list(SESSION_COLUMNS)].reset_index(drop=True)


def _parse_lines(lines: list[str], path: Path) -> list[dict[str, Any]]:
    """One C-level ``json.loads`` per chunk; line by line only if the chunk is bad."""
    body = [line for line in lines if line.strip()]
    try:
        parsed = json.loads("[" + ",".join(body) + "]")
        if isinstance(parsed, list) and all(isinstance(r, dict) for r in parsed):
            return parsed
    except json.JSONDecodeError:
        pass
    records: list[dict[str, Any]] = []
    for line in body:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            logger.warning("%s: ignoring an unreadable history line: %.80s", path, line)
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _load_frames(path: Path, *, chunk_bytes: int = 64 * 2**20) -> HistoryFrames | None:
    """The merged ``history.jsonl`` (written by the runner from validated events).

    Read ``chunk_bytes`` of lines at a time into DataFrames, so the peak memory is the
    frame plus one chunk of dicts rather than every event as a dict.
    """
    if not path.is_file():
        return None
    parts: list[pd.DataFrame] = []
    with path.open("r", encoding="utf-8") as fh:
        while lines := fh.readlines(chunk_bytes):
            records = _parse_lines(lines, path)
            if records:
                parts.append(pd.DataFrame.from_records(records))
    if not parts:
        return None
    frame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True, sort=False)
    return HistoryFrames(frame)


def load_run(path: str | Path) -> RunModel:
    """A run directory, one of its scenario folders, or a ``summary.json`` file."""
    target = Path(path)
    only: str | None = None
    if target.is_file():
        summary_path, root = target, target.parent
    elif (target / "summary.json").is_file():
        summary_path, root = target / "summary.json", target
    elif (target.parent / "summary.json").is_file() and target.is_dir():
        summary_path, root, only = target.parent / "summary.json", target.parent, target.name
    elif not target.exists():
        raise RunDirError(f"{target}: no such run directory")
    else:
        raise RunDirError(f"{target}: not a run directory (no summary.json here or in "
                          f"the parent folder)")
    try:
        summary = json.loads(summary_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{summary_path}: cannot read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{summary_path}: not JSON: {exc}") from exc
    return RunModel.from_summary(summary, root, only=only)


def format_value(value: Any) -> str:
    """How every report shows a metric: ``-`` for no evidence, integers without a point,
    other numbers with up to 3 decimals (``1.86``, ``0.043``)."""
    if value is None or isinstance(value, str):
        return "-" if not value else value
    number = float(value)
    if not math.isfinite(number):
        return "-"
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.3f}".rstrip("0").rstrip(".")
