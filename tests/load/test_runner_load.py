"""A scenario with a Locust background fleet, end to end through the runner: the master
and a worker are managed components, their users cross glasses-link, the cut hits them,
and the checkers count them as glasses clients (real processes on loopback).

Timeline (scenario s x 0.1): warm-up 20 (2 s wall; the 6 Locust users spawn at 20/s),
glasses-link down at 2 for 2, recovery window 15, quiesce 5.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.scenarios.run_helpers import alive, child_pids
from wsquake.scenarios.loader import load_scenario
from wsquake.scenarios.runner import Runner, RunSettings

from .locust_procs import read_events

pytestmark = pytest.mark.timeout(120)

SCENARIO = textwrap.dedent(
    """
    from wsquake.scenarios import Down, FaultStep, FleetSpec, Link, LoadSpec, Scenario

    SCENARIO = Scenario(
        name="tiny-load",
        description="a glasses-link cut under a small Locust fleet",
        fleet=FleetSpec(users=1, apps_per_user=1, probe_interval_s=2),
        load=LoadSpec(users=6, spawn_rate=20, workers=1, probe_interval_s=2),
        time_scale=0.1,
        warmup_s=20,
        steps=(FaultStep(Link.GLASSES, Down(), at_s=2, duration_s=2, name="cut"),),
        recovery_window_s=15,
        quiesce_s=5,
    )
    """
)


async def test_a_locust_fleet_under_a_link_cut_recovers_and_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "tiny_load.py"
    path.write_text(SCENARIO)
    scenario = load_scenario(path)
    result = await Runner(RunSettings(out=tmp_path / "runs", toxiproxy_url="")).run([scenario])
    sdir = result.path / "tiny-load"
    summary = json.loads((result.path / "summary.json").read_text())
    [scen] = summary["scenarios"]
    recovery = next(c for c in scen["checks"] if c["name"] == "recovery")
    # 1 asyncio glasses + 6 Locust users disrupted and recovered (apps not affected).
    assert recovery["metrics"]["disrupted"] == 7, recovery
    assert recovery["metrics"]["never"] == 0, recovery
    leaks = next(c for c in scen["checks"] if c["name"] == "leaks")
    assert leaks["metrics"]["zombie_sessions"] == 0, leaks
    recoveries = read_events(sdir / "parts" / "locust.jsonl", "load_recovery")
    assert len({e["user"] for e in recoveries}) == 6
    assert (sdir / "locust_stats.csv").is_file()
    journal = [json.loads(line) for line in (result.path / "journal.jsonl").read_text()
               .splitlines()]
    stopped = {e["component"] for e in journal if e["event"] == "component_stopped"}
    assert {"locust-master", "locust-worker-0"} <= stopped
    assert not alive(child_pids(result.path))
    assert scen["verdict"] == "pass", [(c["name"], c["summary"]) for c in scen["checks"]]
