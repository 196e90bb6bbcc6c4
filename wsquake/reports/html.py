"""The self-contained HTML report: one page per scenario, plus ``index.html``.

:func:`write_html` takes a :class:`~wsquake.reports.model.RunModel` (or a run directory)
and writes ``<out_dir>/report.html`` for a one-scenario run; for a suite,
``<out_dir>/index.html`` (the run's verdict and one linked row per scenario) and
``<out_dir>/<scenario dir>.html`` per scenario. Every page stands alone: CSS inline,
plots inline SVG (:mod:`wsquake.reports.plots`), one small inline script that makes the
session table sortable; no network, fonts or external files are needed to view it.

Each scenario page shows, in order: the verdict and facts of the run; checks and their
thresholds (measured vs expected); connected glasses and apps over time; message rate and
end-to-end probe latency; time-to-recover CDF and the recovery phase breakdown; delivery
loss and duplication by phase; swim-lane timelines of the worst sessions; cloud metrics
over time; the per-session outcome table; the checks' failing examples. Timelines are in
scenario seconds since the warm-up began (``journal.jsonl``; else the first event) with
the fault windows shaded.

Built from DataFrames only (:mod:`wsquake.reports.series`): :func:`scenario_view` is the
pure step, :func:`render_scenario` / :func:`render_index` render, :func:`write_html`
writes.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from wsquake.history.frame import HistoryFrames
from wsquake.reports import plots, series
from wsquake.reports.exceptions import ReportError
from wsquake.reports.html_templates import INDEX, SCENARIO
from wsquake.reports.model import RunModel, format_value, load_run

__all__ = [
    "SECTIONS",
    "ScenarioView",
    "render_index",
    "render_scenario",
    "scenario_view",
    "write_html",
]

logger = logging.getLogger(__name__)

#: Section ids of a scenario page, in order (the tests and the browser check them).
SECTIONS = ("verdict", "checks", "connected", "traffic", "recovery", "delivery",
            "swimlanes", "cloud", "sessions", "examples")
#: Plot ids, each inside the section named first.
PLOT_SECTIONS = {"connected": "connected", "traffic": "traffic", "ttr-cdf": "recovery",
                 "phases": "recovery", "delivery": "delivery", "swimlanes": "swimlanes",
                 "cloud-metrics": "cloud"}
MAX_SESSION_ROWS = 1000
#: Metrics the index shows per scenario (``check.metric``; ``-`` without evidence).
INDEX_METRICS = ("recovery.p95_s", "recovery.never", "delivery.lost", "delivery.duplicated")
WORST_LANES = 6


@dataclass(frozen=True, slots=True)
class ScenarioView:
    """Everything one scenario page shows, as values and DataFrames."""

    name: str
    dir: str
    facts: Mapping[str, Any]
    checks: pd.DataFrame
    thresholds: pd.DataFrame
    examples: pd.DataFrame
    history: bool
    faults: pd.DataFrame
    connected: pd.DataFrame
    rate: pd.DataFrame
    latency: pd.DataFrame
    cases: pd.DataFrame
    cdf: pd.DataFrame
    phases: pd.DataFrame
    delivery: pd.DataFrame
    sessions: pd.DataFrame
    lanes: series.Swimlanes
    cloud: pd.DataFrame


def _warmup_origins(run_dir: Path) -> list[tuple[str, int]]:
    """(scenario name, wall ns of its ``warm-up`` phase) in run order, from the journal."""
    path = run_dir / "journal.jsonl"
    out: list[tuple[str, int]] = []
    if not path.is_file():
        return out
    current: str | None = None
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        logger.warning("%s: cannot read: %s", path, exc)
        return out
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(record, dict):
            continue
        if record.get("event") == "scenario_started":
            current = str(record.get("scenario"))
        elif (record.get("event") == "phase" and record.get("phase") == "warm-up"
              and current is not None and isinstance(record.get("t"), int)):
            out.append((current, int(record["t"])))
            current = None
    return out


def _recovery_window_s(scenario_dir: Path) -> float:
    try:
        data = json.loads((scenario_dir / "scenario.json").read_text("utf-8"))
        value = data.get("recovery_window_s") if isinstance(data, dict) else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        value = None
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return 20.0


def _empty_lanes() -> series.Swimlanes:
    return series.Swimlanes(
        pd.DataFrame(columns=["lane", "component", "client_id", "role", "outcome"]),
        pd.DataFrame({"lane": pd.Series(dtype="int64"), "start_s": pd.Series(dtype=float),
                      "end_s": pd.Series(dtype=float)}),
        pd.DataFrame({"lane": pd.Series(dtype="int64"), "t_s": pd.Series(dtype=float),
                      "kind": pd.Series(dtype=object), "outcome": pd.Series(dtype=object),
                      "label": pd.Series(dtype=object)}))


def scenario_view(model: RunModel, name: str, *, frames: HistoryFrames | None = None,
                  origin_ns: int | None = None, recovery_window_s: float | None = None
                  ) -> ScenarioView:
    """The frames of one scenario page (pure given ``frames``; else loads the history)."""
    row = model.scenario(name)
    facts = {str(k): (None if isinstance(v, float) and math.isnan(v) else v)
             for k, v in row.to_dict().items()}
    facts["run_id"] = model.run_id
    checks = model.checks[model.checks["scenario"] == name].reset_index(drop=True)
    thresholds = model.thresholds[model.thresholds["scenario"] == name].reset_index(drop=True)
    examples = model.examples[model.examples["scenario"] == name].reset_index(drop=True)
    if frames is None:
        frames = model.frames(name)
    if frames is None or len(frames) == 0:
        empty = HistoryFrames.from_records([])
        frames, history = empty, False
    else:
        history = True
    scale = float(facts.get("time_scale") or 1.0)
    if recovery_window_s is None:
        recovery_window_s = _recovery_window_s(model.path / str(facts["dir"]))
    origin = frames.start_ns if origin_ns is None else min(origin_ns, frames.end_ns)
    tb = series.Timebase(origin, scale, recovery_window_s, name)
    cases = series.recovery_cases(frames, tb)
    delivery = series.delivery_pairs(frames, tb)
    sessions = series.session_outcomes(frames, tb, cases, delivery=delivery)
    lanes = series.swimlanes(frames, tb, sessions, WORST_LANES) if history else _empty_lanes()
    return ScenarioView(
        name=name, dir=str(facts["dir"]), facts=facts, checks=checks, thresholds=thresholds,
        examples=examples, history=history, faults=series.fault_windows(frames, tb),
        connected=series.connected(frames, tb), rate=series.message_rate(frames, tb),
        latency=series.probe_latency(frames, tb), cases=cases, cdf=series.ttr_cdf(cases),
        phases=series.phase_breakdown(cases),
        delivery=series.delivery_by_phase(frames, tb, delivery=delivery),
        sessions=sessions, lanes=lanes, cloud=series.cloud_metrics(frames, tb),
    )


def _plots(view: ScenarioView) -> dict[str, plots.Plot]:
    out = [
        plots.plot_connected(view.connected, view.faults),
        plots.plot_traffic(view.rate, view.latency, view.faults),
        plots.plot_ttr_cdf(view.cdf),
        plots.plot_phases(view.phases),
        plots.plot_delivery(view.delivery),
        plots.plot_swimlanes(view.lanes, view.faults),
        plots.plot_cloud_metrics(view.cloud, view.faults),
    ]
    return {p.id: p for p in out}


def _environment() -> Environment:
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["num"] = format_value
    env.filters["slug"] = _slug
    env.filters["when"] = _when
    return env


def _when(value: object) -> str:
    """``2026-11-27T01:00:00.000Z`` → ``2026-11-27 01:00:00 UTC`` (``-`` when missing)."""
    if not isinstance(value, str) or not value:
        return "-"
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?Z", value)
    return f"{match.group(1)} {match.group(2)} UTC" if match else value


def _slug(value: object) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-") or "x"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in frame.to_dict("records"):
        out.append({str(k): (None if isinstance(v, float) and math.isnan(v) else v)
                    for k, v in rec.items()})
    return out


def page_name(dir_name: str) -> str:
    """The file name of a scenario's page (its run-directory folder name)."""
    return f"{_slug(dir_name)}.html"


def render_scenario(view: ScenarioView, *, index_href: str | None = None) -> str:
    """One scenario's page as a complete HTML document."""
    figures = {pid: Markup(p.svg) for pid, p in _plots(view).items()}
    thresholds = _records(view.thresholds)
    by_check: dict[str, list[dict[str, Any]]] = {}
    for t in thresholds:
        by_check.setdefault(str(t["check"]), []).append(t)
    sessions = view.sessions.head(MAX_SESSION_ROWS)
    return _environment().from_string(SCENARIO).render(
        v=view, facts=view.facts, checks=_records(view.checks), by_check=by_check,
        examples=_records(view.examples), figures=figures,
        faults=_records(view.faults), phases=_records(view.phases),
        delivery=_records(view.delivery), sessions=_records(sessions),
        sessions_total=len(view.sessions), lanes=_records(view.lanes.lanes),
        cases=view.cases, index_href=index_href, sections=SECTIONS,
    )


def render_index(model: RunModel, pages: Sequence[tuple[str, str]]) -> str:
    """The run's index: verdict, and one row per scenario linking ``pages[i]`` (name,
    file)."""
    hrefs = dict(pages)
    rows = _records(model.scenarios)
    for r in rows:
        name = str(r["scenario"])
        r["href"] = hrefs.get(name)
        for key in INDEX_METRICS:
            r[key] = model.metric(name, key)
    return _environment().from_string(INDEX).render(run=model.run, run_id=model.run_id,
                                                    verdict=model.verdict, rows=rows)


def write_html(model: RunModel | str | Path, out_dir: str | Path) -> list[Path]:
    """Write the HTML report of a run into ``out_dir``; the paths written.

    One scenario: ``report.html``. Several (a suite): ``index.html`` (written last,
    returned first) and one page per scenario, ``<scenario dir>.html``, each linking back.
    """
    if not isinstance(model, RunModel):
        model = load_run(model)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"{out}: cannot create the HTML report folder: {exc}") from exc
    origins = _warmup_origins(model.path)
    names = model.scenario_names
    suite = len(names) != 1
    written: list[Path] = []
    pages: list[tuple[str, str]] = []
    used: set[str] = {"index.html", "report.html"}
    seen: dict[str, int] = {}
    for name in names:
        nth = seen.get(name, 0)
        seen[name] = nth + 1
        starts = [t for n, t in origins if n == name]
        view = scenario_view(model, name, origin_ns=starts[nth] if nth < len(starts) else None)
        if suite:
            file = page_name(view.dir)
            while file in used:
                file = file.removesuffix(".html") + "-x.html"
            used.add(file)
        else:
            file = "report.html"
        path = out / file
        _write(path, render_scenario(view, index_href="index.html" if suite else None))
        written.append(path)
        pages.append((name, file))
    if not suite:
        return written
    index = out / "index.html"
    _write(index, render_index(model, pages))
    return [index, *written]


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"{path}: cannot write: {exc}") from exc
