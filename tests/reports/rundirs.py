"""Synthetic run directories for report tests (H14's HTML tests import these too).

A run directory is what the runner writes (docs/running.md): ``summary.json``
(schema 1) and, per scenario, ``<dir>/history.jsonl``. Builders::

    root = write_run(tmp_path, [passing(), failing(), unknown(), interrupted(),
                                harness_error()])
    model = load_run(root)

The values are small and distinct so tests can find them in the rendered text.
``failing()`` has a history with one app that reconnects after 2.5 s and one that never
does (the "worst sessions").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.scenarios.synth import APP, Synth, app_entry, session_body, user_entry

__all__ = [
    "APP2",
    "RUN_ID",
    "check",
    "failing",
    "failing_history",
    "harness_error",
    "interrupted",
    "passing",
    "passing_history",
    "scenario",
    "suite",
    "threshold",
    "unknown",
    "write_run",
]

RUN_ID = "20261127-010000-test-ab12"
APP2 = "v@x.io-com.a"
_RANK = {"pass": 0, "unknown": 1, "fail": 2, "error": 3}


def threshold(expr: str, verdict: str, measured: float | None,
              expected: float | None) -> dict[str, Any]:
    metric, op = expr.split()[0], expr.split()[1]
    return {"expr": expr, "metric": metric, "op": op, "verdict": verdict,
            "measured": measured, "expected": expected}


def check(name: str, verdict: str = "pass", metrics: Mapping[str, Any] | None = None,
          thresholds: Iterable[Mapping[str, Any]] = (), summary: str = "",
          examples: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    return {"name": name, "verdict": verdict, "summary": summary or f"{name} {verdict}",
            "metrics": dict(metrics or {}), "thresholds": list(thresholds),
            "examples": list(examples)}


def scenario(name: str, checks: Sequence[Mapping[str, Any]] = (), *,
             verdict: str | None = None, error: str | None = None, interrupted: bool = False,
             duration_s: float = 12.5, time_scale: float = 1.0, events: int = 0,
             history: Synth | None = None) -> dict[str, Any]:
    if verdict is None:
        verdict = "error" if error else max((c["verdict"] for c in checks),
                                            key=lambda v: _RANK[v], default="unknown")
        if interrupted and verdict != "error":
            verdict = "unknown"
    data: dict[str, Any] = {
        "name": name, "verdict": verdict, "interrupted": interrupted, "error": error,
        "dir": name, "started_at": "2026-11-27T01:00:00.000Z",
        "finished_at": "2026-11-27T01:00:12.500Z", "duration_s": duration_s,
        "time_scale": time_scale, "events": len(history.events) if history else events,
        "truncated_lines": 0, "faults": {"applied": 1, "healed": 1, "rolled_back": 0},
        "rollback_errors": [], "checks": list(checks),
    }
    if history is not None:
        data["_history"] = history
    return data


def passing_history() -> Synth:
    h = Synth()
    h.glasses_up(at=0.0).app_up(at=0.1)
    h.flow(start=1, stop=20)
    h.fault("cut", "app-link", "down", 8, 9)
    h.probe(21, session_body([user_entry(apps=[app_entry()])]))
    return h


def failing_history() -> Synth:
    """Two apps lose their socket at 10.5 s; APP reconnects at 13.0, APP2 never."""
    h = Synth()
    h.glasses_up(at=0.0).app_up(APP, at=0.1).app_up(APP2, at=0.1)
    h.flow(sids=(APP, APP2), start=1, stop=9)
    h.fault("cut", "app-link", "down", 10, 12)
    h.app_loss(APP, 1, at=10.5).app_loss(APP2, 1, at=10.5)
    h.app_up(APP, 2, at=13.0)
    h.flow(sids=(APP,), start=14, stop=20, conn=lambda t: 2)
    h.probe(30, session_body([user_entry(apps=[app_entry()])]))
    return h


def passing(name: str = "app-link-drop") -> dict[str, Any]:
    return scenario(name, [
        check("recovery", metrics={"rate": 1.0, "p50_s": 1.25, "p95_s": 1.875, "p99_s": 1.9,
                                   "max_s": 1.95, "disrupted": 2, "never": 0, "late": 0,
                                   "detect_p95_s": 0.043, "reconnect_p95_s": 1.25,
                                   "resubscribe_p95_s": 0.002, "caught_up_p95_s": 0.625},
              thresholds=[threshold("recovery.rate >= 1", "pass", 1.0, 1.0),
                          threshold("recovery.p95_s <= 4", "pass", 1.875, 4.0)]),
        check("delivery", metrics={"lost": 0, "lost_after_recovery": 0, "duplicated": 0},
              thresholds=[threshold("delivery.lost_after_recovery == 0", "pass", 0, 0)]),
    ], history=passing_history())


def failing(name: str = "cloud-kill") -> dict[str, Any]:
    return scenario(name, [
        check("recovery", "fail",
              metrics={"rate": 0.5, "p50_s": 2.5, "p95_s": 2.5, "p99_s": 2.5, "max_s": 2.5,
                       "disrupted": 2, "never": 1, "late": 0},
              thresholds=[threshold("recovery.never == 0", "fail", 1, 0),
                          threshold("recovery.p95_s <= 4", "pass", 2.5, 4.0)],
              summary="2 disrupted: 1 recovered, 1 never",
              examples=[{"component": "apps-0", "client_id": APP2, "outcome": "never",
                         "detail": "no init ok after the loss at 10.5 s", "events": [{}]}]),
        check("delivery", "fail", metrics={"lost": 7, "lost_after_recovery": 3,
                                           "duplicated": 0},
              thresholds=[threshold("delivery.lost_after_recovery == 0", "fail", 3, 0)]),
    ], history=failing_history(), duration_s=31.25)


def unknown(name: str = "cloud-blackhole") -> dict[str, Any]:
    return scenario(name, [
        check("health", "unknown", metrics={"detect_p95_s": None, "affected": None},
              thresholds=[threshold("health.detect_p95_s <= 41", "unknown", None, 41.0)],
              summary="no snapshot: cannot tell"),
    ], duration_s=7.75)


def interrupted(name: str = "flapping") -> dict[str, Any]:
    return scenario(name, [
        check("recovery", "pass", metrics={"rate": 1.0, "p95_s": 0.75, "never": 0}),
    ], interrupted=True, duration_s=3.5)


def harness_error(name: str = "app-kill") -> dict[str, Any]:
    return scenario(name, [], error="ProcessStartError: cloud: exited with 1 before ready",
                    duration_s=1.5)


def suite() -> list[dict[str, Any]]:
    return [passing(), failing(), unknown(), interrupted(), harness_error()]


def write_run(parent: Path, scenarios: Sequence[Mapping[str, Any]], *,
              run_id: str = RUN_ID, interrupted: bool | None = None) -> Path:
    """Write ``parent/<run_id>/`` with ``summary.json`` and each scenario's history."""
    root = parent / run_id
    root.mkdir(parents=True)
    clean = []
    for s in scenarios:
        entry = {k: v for k, v in s.items() if k != "_history"}
        sdir = root / entry["dir"]
        sdir.mkdir()
        history: Synth | None = s.get("_history")
        lines = [e.to_json_line() for e in history.events] if history is not None else []
        (sdir / "history.jsonl").write_text("".join(line + "\n" for line in lines), "utf-8")
        clean.append(entry)
    verdicts = [s["verdict"] for s in clean]
    if "error" in verdicts:
        verdict = "error"
    else:
        verdict = max(verdicts, key=lambda v: _RANK[v], default="unknown")
    was_interrupted = any(s["interrupted"] for s in clean) if interrupted is None \
        else interrupted
    code = (130 if was_interrupted else
            {"pass": 0, "fail": 1, "unknown": 2, "error": 70}[verdict])
    summary = {"schema": 1, "run_id": run_id, "started_at": "2026-11-27T01:00:00.000Z",
               "finished_at": "2026-11-27T01:01:00.000Z", "interrupted": was_interrupted,
               "verdict": verdict, "exit_code": code, "scenarios": clean}
    (root / "summary.json").write_text(json.dumps(summary, indent=2), "utf-8")
    return root
