"""The known-defect matrix: which catalog scenario catches which upstream defect.

PROTOCOL.md §12 lists the reliability defects the upstream cloud and SDK shipped (D1-D14);
the reference cloud and the app simulator reproduce each one behind a switch. A harness
whose checks never fail proves nothing, so ``wsquake suite defects`` runs every
(defect, detecting scenario) pair with the defect's switches on, plus every detecting
scenario on the clean cloud, and shows the result as a matrix. This module is the data
(:data:`DEFECT_MATRIX`: one :class:`DefectRow` per defect, so adding a defect is one row)
and the pure logic: the scenarios to run (:func:`plan`), the outcome of each cell
(:func:`evaluate`), the exit code and the renderings (JSON, Markdown, rich table).
Running it is :mod:`wsquake.scenarios.defect_suite`.

A pair is **caught** when its scenario's verdict is ``fail`` *and* the row's expected
check failed (so a defect is not credited to an unrelated failure); **missed**
otherwise; **error** when the harness broke. A clean run is **clean-pass** or
**clean-fail**. The suite passes (exit 0) only when every pair is caught and every clean
run passes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from wsquake.cloud.settings import DEFECT_NAMES
from wsquake.scenarios.exceptions import ScenarioError
from wsquake.scenarios.loader import load_scenario
from wsquake.scenarios.model import Scenario
from wsquake.scenarios.specs import CHECK_NAMES, SDK_DEFECT_NAMES

__all__ = [
    "DEFECT_MATRIX",
    "Cell",
    "CellOutcome",
    "DefectRow",
    "MatrixResult",
    "PlannedRun",
    "evaluate",
    "format_markdown",
    "plan",
]

CLEAN = "clean"


@dataclass(frozen=True, slots=True)
class DefectRow:
    """One defect: its §12 id, the switches that turn it on, the catalog scenarios that
    must catch it and the check that must fail there (``expect``: ``check.metric``)."""

    id: str
    switches: tuple[str, ...]
    scenarios: tuple[str, ...]
    expect: str
    symptom: str

    def __post_init__(self) -> None:
        where = f"defect matrix {self.id}"
        if not self.switches or not self.scenarios:
            raise ScenarioError(f"{where}: needs at least one switch and one scenario")
        for switch in self.switches:
            if switch not in DEFECT_NAMES and switch not in SDK_DEFECT_NAMES:
                raise ScenarioError(f"{where}: unknown switch {switch!r}")
        if self.expect.split(".", 1)[0] not in CHECK_NAMES:
            raise ScenarioError(f"{where}: expect {self.expect!r} names no check")

    @property
    def check(self) -> str:
        return self.expect.split(".", 1)[0]


#: PROTOCOL.md §12, one row per defect.
DEFECT_MATRIX: tuple[DefectRow, ...] = (
    DefectRow("D1", ("split_session_id",), ("hyphenated-users",),
              "lifecycle.init_failed_sessions",
              "apps of a hyphenated email never connect: SESSION_NOT_FOUND + 1008"),
    DefectRow("D2", ("stale_close_unchecked",), ("app-link-half-close",),
              "lifecycle.resurrections",
              "a superseded socket's late close puts a live app in grace: resurrection"),
    DefectRow("D3", ("no_pong_deadline",), ("app-link-blackhole",),
              "health.undetected",
              "a blackholed app socket is never closed: no pong deadline"),
    DefectRow("D4", ("stop_webhook_unbounded",), ("stop-webhook-hang",),
              "recovery.app_never",
              "the stop webhook is awaited forever: resurrection never reaches session_request"),
    DefectRow("D5", ("drop_during_grace",), ("app-link-grace-gap",),
              "delivery.lost_fault",
              "data for an app in grace is dropped, not buffered: a sequence gap"),
    DefectRow("D6", ("duplicate_app_sockets", "sdk.legacy_session_map"),
              ("app-link-partition-race",),
              "leaks.orphan_app_connections",
              "two sockets for one app session: the old one orphaned"),
    DefectRow("D7", ("glasses_reconnect_no_restart",), ("glasses-reconnect-state",),
              "lifecycle.display_not_resent",
              "after a glasses reconnect the display is not re-sent"),
    DefectRow("D8", ("keep_old_glasses_socket",), ("glasses-link-half-close",),
              "leaks.peak_glasses_sockets",
              "two glasses sockets for one user: the old one is kept"),
    DefectRow("D9", ("leak_subscriptions_on_dispose",), ("glasses-session-dispose",),
              "leaks.leaked_subscriptions",
              "a disposed session's subscriptions stay in the map"),
    DefectRow("D10", ("duplicate_init_restart",), ("glasses-return-start-fails",),
              "lifecycle.starts_rerun",
              "connection_init on a fresh session reruns a failed start: an extra session_request"),
    DefectRow("D11", ("loading_apps_as_object",), ("baseline",),
              "lifecycle.loading_apps_not_list",
              "loadingApps arrives as {} instead of a list"),
    DefectRow("D12", ("retry_after_sdk_500",), ("app-start-slow-link",),
              "lifecycle.repeated_requests",
              "a timed-out start's webhook is retried: a second session_request"),
    DefectRow("D13", ("dispose_without_stop_webhook",), ("glasses-session-dispose",),
              "lifecycle.ended_without_stop",
              "apps closed 'User session ended' without a stop_request"),
    DefectRow("D14", ("sdk.hung_attempt_stalls",), ("app-link-reset-blackhole",),
              "recovery.app_p95_s",
              "a hung reconnect attempt stalls the SDK: only resurrection brings the app back"),
)


class CellOutcome(StrEnum):
    CAUGHT = "caught"
    MISSED = "missed"
    CLEAN_PASS = "clean-pass"
    CLEAN_FAIL = "clean-fail"
    ERROR = "error"

    @property
    def ok(self) -> bool:
        return self in (CellOutcome.CAUGHT, CellOutcome.CLEAN_PASS)


@dataclass(frozen=True, slots=True)
class PlannedRun:
    """One scenario run of the matrix: ``defect`` is a row id, or ``clean``."""

    defect: str
    scenario: str
    run_name: str
    switches: tuple[str, ...]


def run_name(defect: str, scenario: str) -> str:
    return f"{defect.lower()}-{scenario}"


def planned_runs(matrix: Sequence[DefectRow] = DEFECT_MATRIX) -> list[PlannedRun]:
    """Every (defect, scenario) pair, then each distinct scenario once on the clean cloud."""
    runs = [PlannedRun(row.id, name, run_name(row.id, name), row.switches)
            for row in matrix for name in row.scenarios]
    seen: list[str] = []
    for row in matrix:
        seen.extend(n for n in row.scenarios if n not in seen)
    runs += [PlannedRun(CLEAN, name, run_name(CLEAN, name), ()) for name in seen]
    return runs


def with_switches(scenario: Scenario, switches: Iterable[str], name: str) -> Scenario:
    """``scenario`` renamed, on the ``fixed`` profile, with ``switches`` on besides the
    ones the scenario itself names (the clean run is the catalog scenario as it is)."""
    defects = tuple(dict.fromkeys((*scenario.cloud.defects, *switches)))
    cloud = dataclasses.replace(scenario.cloud, defects=defects, profile="fixed")
    return dataclasses.replace(scenario, name=name, cloud=cloud)


def plan(
    matrix: Sequence[DefectRow] = DEFECT_MATRIX,
    *,
    defects: Sequence[str] | None = None,
    time_scale: float | None = None,
    seed: int | None = None,
) -> tuple[list[PlannedRun], list[Scenario]]:
    """The runs and their scenarios; ``defects`` (ids, e.g. ``["D1", "D11"]``) narrows
    the matrix. Raises :class:`ScenarioError` naming an unknown id or scenario."""
    rows = list(matrix)
    if defects:
        known = {row.id.upper(): row for row in rows}
        wanted = [d.strip().upper() for d in defects if d.strip()]
        unknown = [d for d in wanted if d not in known]
        if unknown:
            raise ScenarioError(f"--defects: unknown defect {unknown[0]!r} "
                                f"(known: {', '.join(known)})")
        rows = [row for row in rows if row.id.upper() in wanted]
    runs = planned_runs(rows)
    scenarios: list[Scenario] = []
    for run in runs:
        base = load_scenario(run.scenario)
        if time_scale is not None:
            base = base.scaled(time_scale)
        if seed is not None:
            base = base.with_fleet(seed=seed)
        scenarios.append(with_switches(base, run.switches, run.run_name))
    return runs, scenarios


# -- results ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """The outcome of one planned run, with the evidence that decided it."""

    defect: str
    scenario: str
    run_name: str
    outcome: CellOutcome
    verdict: str
    failed_checks: tuple[str, ...] = ()
    evidence: str = ""
    duration_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"defect": self.defect, "scenario": self.scenario, "run": self.run_name,
                "outcome": self.outcome.value, "verdict": self.verdict,
                "failed_checks": list(self.failed_checks), "evidence": self.evidence,
                "duration_s": round(self.duration_s, 3)}


def _failed(checks: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(str(c.get("name")) for c in checks if c.get("verdict") == "fail")


def _evidence(checks: Sequence[Mapping[str, Any]], check: str | None) -> str:
    """The failing check's summary, its failed thresholds and first example detail."""
    order = [c for c in checks if c.get("name") == check] + [
        c for c in checks if c.get("name") != check and c.get("verdict") == "fail"]
    for c in order:
        if c.get("verdict") != "fail":
            continue
        parts = [f"{c.get('name')}: {c.get('summary', '')}"]
        failed = [f"{t.get('expr')} (measured {t.get('measured')})"
                  for t in c.get("thresholds", ()) if t.get("verdict") == "fail"]
        if failed:
            parts.append("failed " + "; ".join(failed))
        examples = c.get("examples") or ()
        if examples:
            parts.append(f"e.g. {examples[0].get('detail')}")
        return " · ".join(parts)
    return ""


def evaluate(
    runs: Sequence[PlannedRun],
    outcomes: Mapping[str, Mapping[str, Any]],
    matrix: Sequence[DefectRow] = DEFECT_MATRIX,
) -> list[Cell]:
    """One :class:`Cell` per planned run from the scenarios' ``summary.json`` entries
    (keyed by run name: ``verdict``, ``error``, ``checks``, ``duration_s``). A run with
    no outcome (interrupted before it started) is an ``error``."""
    rows = {row.id: row for row in matrix}
    cells: list[Cell] = []
    for run in runs:
        got = outcomes.get(run.run_name)
        if got is None:
            cells.append(Cell(run.defect, run.scenario, run.run_name, CellOutcome.ERROR,
                              "missing", evidence="not run"))
            continue
        verdict = str(got.get("verdict", "unknown"))
        checks: Sequence[Mapping[str, Any]] = got.get("checks") or ()
        failed = _failed(checks)
        duration = float(got.get("duration_s") or 0.0)
        row = rows.get(run.defect)
        expect_check = row.check if row is not None else None
        if verdict == "error" or got.get("error"):
            outcome = CellOutcome.ERROR
            evidence = str(got.get("error") or "harness error")
        elif run.defect == CLEAN:
            outcome = CellOutcome.CLEAN_PASS if verdict == "pass" else CellOutcome.CLEAN_FAIL
            evidence = _evidence(checks, None) if verdict != "pass" else ""
        elif verdict == "fail" and expect_check in failed:
            outcome = CellOutcome.CAUGHT
            evidence = _evidence(checks, expect_check)
        else:
            outcome = CellOutcome.MISSED
            evidence = (_evidence(checks, None) if failed
                        else f"verdict {verdict}: {expect_check} did not fail")
        cells.append(Cell(run.defect, run.scenario, run.run_name, outcome, verdict, failed,
                          evidence, duration))
    return cells


@dataclass(frozen=True, slots=True)
class MatrixResult:
    cells: tuple[Cell, ...]
    wall_s: float = 0.0
    run_dir: str = ""

    @property
    def defect_cells(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.defect != CLEAN)

    @property
    def clean_cells(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.defect == CLEAN)

    @property
    def ok(self) -> bool:
        return bool(self.cells) and all(c.outcome.ok for c in self.cells)

    def exit_code(self) -> int:
        """0 when every defect is caught and the clean cloud passes everything, else 1."""
        return 0 if self.ok else 1

    def counts(self) -> dict[str, int]:
        out = {o.value: 0 for o in CellOutcome}
        for c in self.cells:
            out[c.outcome.value] += 1
        return out

    def to_json(self, matrix: Sequence[DefectRow] = DEFECT_MATRIX) -> dict[str, Any]:
        rows = {row.id: row for row in matrix}
        return {
            "schema": 1,
            "ok": self.ok,
            "exit_code": self.exit_code(),
            "wall_s": round(self.wall_s, 1),
            "run_dir": self.run_dir,
            "counts": self.counts(),
            "defects": [
                {"id": d, "switches": list(rows[d].switches) if d in rows else [],
                 "expect": rows[d].expect if d in rows else None,
                 "symptom": rows[d].symptom if d in rows else None,
                 "cells": [c.to_json() for c in self.defect_cells if c.defect == d]}
                for d in dict.fromkeys(c.defect for c in self.defect_cells)
            ],
            "clean": [c.to_json() for c in self.clean_cells],
        }

    def to_json_text(self, matrix: Sequence[DefectRow] = DEFECT_MATRIX) -> str:
        return json.dumps(self.to_json(matrix), indent=2) + "\n"


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def format_markdown(result: MatrixResult, matrix: Sequence[DefectRow] = DEFECT_MATRIX) -> str:
    """The matrix as a Markdown section: one row per (defect, scenario), then clean runs."""
    rows = {row.id: row for row in matrix}
    counts = result.counts()
    state = "every defect caught, clean cloud passes" if result.ok else "NOT OK"
    lines = [
        f"## Known-defect matrix: {state}",
        "",
        f"{counts['caught']} caught · {counts['missed']} missed · {counts['clean-pass']} "
        f"clean-pass · {counts['clean-fail']} clean-fail · {counts['error']} error · "
        f"wall {result.wall_s:.0f} s",
        "",
        "| defect | switches | scenario | outcome | expected to fail | evidence |",
        "|---|---|---|---|---|---|",
    ]
    for c in result.defect_cells:
        row = rows.get(c.defect)
        switches = ", ".join(row.switches) if row else ""
        expect = row.expect if row else ""
        lines.append(f"| {c.defect} | `{_md(switches)}` | {_md(c.scenario)} | "
                     f"**{c.outcome.value}** | `{expect}` | {_md(c.evidence)} |")
    lines += ["", "| clean cloud | outcome | evidence |", "|---|---|---|"]
    for c in result.clean_cells:
        lines.append(f"| {_md(c.scenario)} | **{c.outcome.value}** | {_md(c.evidence)} |")
    return "\n".join(lines) + "\n"
