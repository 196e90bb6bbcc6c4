"""Suites: every name resolves from the catalog and each fits its wall-time budget."""

from __future__ import annotations

import pytest

from wsquake.scenarios.exceptions import ScenarioError
from wsquake.scenarios.loader import catalog_names, load_scenario
from wsquake.scenarios.suites import (
    STARTUP_ALLOWANCE_S,
    SUITES,
    estimate_wall_s,
    resolve_suite,
)


@pytest.mark.parametrize("name", ["smoke", "regression"])
def test_every_scenario_a_suite_lists_is_in_the_catalog(name: str) -> None:
    known = set(catalog_names())
    missing = [e.scenario for e in SUITES[name].entries if e.scenario not in known]
    assert missing == []


@pytest.mark.parametrize("name", ["smoke", "regression"])
def test_a_suite_fits_its_budget(name: str) -> None:
    budget = SUITES[name].budget_s
    assert budget is not None
    assert estimate_wall_s(resolve_suite(name)) < budget


def test_full_runs_every_catalog_scenario() -> None:
    assert sorted(s.name for s in resolve_suite("full")) == catalog_names()


def test_regression_covers_every_scenario_tagged_smoke_or_regression() -> None:
    tagged = {n for n in catalog_names()
              if {"smoke", "regression"} & set(load_scenario(n).tags)}
    assert tagged <= {s.name for s in resolve_suite("regression")}


def test_smoke_runs_small_and_fast() -> None:
    for scenario in resolve_suite("smoke"):
        assert scenario.time_scale == 0.1 and scenario.fleet.users == 2


def test_explicit_arguments_override_the_suite_choices() -> None:
    scenarios = resolve_suite("smoke", time_scale=0.05, users=3, seed=9)
    assert {(s.time_scale, s.fleet.users, s.fleet.seed) for s in scenarios} == {(0.05, 3, 9)}


def test_an_unknown_suite_is_rejected_with_the_known_names() -> None:
    with pytest.raises(ScenarioError, match=r"unknown suite 'x' \(known: smoke, regression, full"):
        resolve_suite("x")


def test_the_estimate_adds_the_start_stop_allowance_per_scenario() -> None:
    (baseline,) = [s for s in resolve_suite("smoke") if s.name == "baseline"]
    wall = baseline.duration_s() * baseline.time_scale
    assert estimate_wall_s([baseline]) == pytest.approx(wall + STARTUP_ALLOWANCE_S)
