"""Scenarios with a Locust background fleet: the model, the catalog entries and the
command lines the runner starts (pure; the storm itself runs in test_runner_load.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsquake.scenarios import LoadSpec, Scenario, ScenarioError, load_scenario
from wsquake.scenarios.load_fleet import load_argvs
from wsquake.scenarios.rundir import ScenarioDir
from wsquake.scenarios.suites import resolve_suite


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"users": 0}, "load.users"),
        ({"spawn_rate": 0}, "load.spawn_rate"),
        ({"workers": 0}, "load.workers"),
        ({"probe_interval_s": -1}, "load.probe_interval_s"),
    ],
)
def test_a_bad_load_spec_names_the_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ScenarioError, match=field):
        LoadSpec(**kwargs)  # type: ignore[arg-type]


def test_a_scenario_rejects_a_load_that_is_not_a_load_spec() -> None:
    with pytest.raises(ScenarioError, match="load: must be a LoadSpec"):
        Scenario("x", "d", load={"users": 3})  # type: ignore[arg-type]


def test_scenarios_without_load_keep_none_and_scaling_keeps_the_load() -> None:
    assert load_scenario("glasses-link-drop").load is None
    storm = load_scenario("storm-under-load")
    assert storm.load is not None and storm.load.workers == 2
    assert storm.scaled(0.1).load == storm.load


def test_soak_is_in_full_but_not_in_regression() -> None:
    assert "soak" in {s.name for s in resolve_suite("full", warn=False)}
    assert "soak" not in {s.name for s in resolve_suite("regression", warn=False)}
    soak = load_scenario("soak")
    assert soak.load is not None and not soak.steps
    leaks = next(c for c in soak.checks if c.name == "leaks")
    assert "leaks.connection_growth == 0" in [t.text for t in leaks.thresholds]


def test_the_runner_starts_a_master_and_one_worker_per_spec_worker(tmp_path: Path) -> None:
    storm = load_scenario("storm-under-load")
    sdir = ScenarioDir(tmp_path / storm.name)
    master, workers = load_argvs(storm, glasses_ws_url="ws://127.0.0.1:1/glasses-ws",
                                 sdir=sdir, port=5599)
    joined = " ".join(master)
    assert "--master" in master and "--expect-workers 2" in joined and len(workers) == 2
    assert "--host ws://127.0.0.1:1/glasses-ws" in joined and "--users 200" in joined
    # probe every 5 scenario s at time scale 0.2 = every 1 wall s
    assert "--glasses-probe-interval 1 " in joined
    assert f"--wsquake-history {sdir.part('locust')}" in joined
    assert all(w[-4:] == ["--master-host", "127.0.0.1", "--master-port", "5599"]
               for w in workers)
    assert "jwt" not in joined  # the secret goes in the environment


def test_a_scenario_without_load_has_no_locust_command_lines(tmp_path: Path) -> None:
    scenario = load_scenario("baseline")
    with pytest.raises(ScenarioError, match="no Locust fleet"):
        load_argvs(scenario, glasses_ws_url="ws://h:1/glasses-ws",
                   sdir=ScenarioDir(tmp_path / "baseline"), port=1)
