"""Shared helpers of the runner's end-to-end tests (real processes on loopback)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import psutil

# A tiny scenario in scenario seconds; at time_scale 0.1 the timeline takes ~3.5 s wall:
#   warm-up 20 s | faults (per test) | recovery window 10 s | quiesce 5 s
TINY = textwrap.dedent(
    """
    from wsquake.faults.client import Latency
    from wsquake.scenarios import Down, FaultStep, FleetSpec, Link, Scenario

    SCENARIO = Scenario(
        name={name!r},
        description="tiny end-to-end scenario for the runner's tests",
        fleet=FleetSpec(users=2, apps_per_user={apps}, probe_interval_s=2),
        time_scale=0.1,
        warmup_s=20,
        steps=({steps}),
        recovery_window_s=10,
        quiesce_s=5,
    )
    """
)


def write_scenario(
    path: Path, *, name: str = "tiny", steps: str = "", apps: int = 1
) -> Path:
    path.write_text(TINY.format(name=name, steps=steps, apps=apps))
    return path


def journal(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]


def child_pids(run_dir: Path) -> list[int]:
    return [e["pid"] for e in journal(run_dir) if e["event"] == "component_ready"]


def alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def only_run_dir(out: Path) -> Path:
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


def history(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]
