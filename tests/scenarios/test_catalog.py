"""The catalog: every scenario loads, validates, is documented and gates on real metrics."""

from __future__ import annotations

import importlib

import pytest

from wsquake.scenarios import Scenario, catalog_names, load_scenario
from wsquake.scenarios.checkers import CHECKERS

from .synth import Synth

EXPECTED = {
    "baseline", "app-link-drop", "app-link-partition-race", "app-link-partition-long",
    "glasses-link-drop", "glasses-partition-past-grace", "app-link-blackhole",
    "glasses-link-blackhole", "latency-spike", "bandwidth-throttle", "webhook-slow-start",
    "webhook-blackhole-stop", "tpa-server-restart", "cloud-restart", "flapping-app-link",
    "reconnect-storm", "fragmented-frames", "ws-frame-loss",
}


def metric_keys() -> dict[str, set[str]]:
    h = Synth().glasses_up().app_up()
    h.flow(start=1, stop=3)
    frames = h.frames()
    sample = Scenario("t", "d")
    return {name: set(fn(frames, sample, {}).metrics) for name, fn in CHECKERS.items()}


KEYS = metric_keys()


def test_catalog_lists_every_issue_scenario() -> None:
    assert EXPECTED <= set(catalog_names())
    assert catalog_names() == sorted(catalog_names())


@pytest.mark.parametrize("name", catalog_names())
def test_catalog_scenario_loads_validates_and_is_documented(name) -> None:
    scenario = load_scenario(name)
    assert scenario.name == name
    assert scenario.description.strip()
    module = importlib.import_module(f"wsquake.scenarios.catalog.{name.replace('-', '_')}")
    doc = module.__doc__ or ""
    assert "Expected" in doc and "§" in doc, "docstring: behaviour exercised and verdict"
    if "soak" not in scenario.tags:  # a soak is long on purpose (full suite only)
        assert 0.05 <= scenario.time_scale <= 0.2
        assert scenario.wall_s(scenario.duration_s()) < 30
    symbols = scenario.symbols()
    for check in scenario.checks:
        for threshold in check.thresholds:
            assert threshold.key in KEYS[check.name], f"{threshold} names no metric"
            threshold.expected(symbols)  # every symbol resolves


def test_every_faulty_catalog_scenario_has_steps_and_baseline_has_none() -> None:
    for name in EXPECTED:
        scenario = load_scenario(name)
        assert bool(scenario.steps) == (name != "baseline"), name
        assert scenario.timeline() or name == "baseline"


def test_default_checks_gate_on_metrics_the_checkers_report() -> None:
    from wsquake.scenarios import DEFAULT_CHECKS

    for check in DEFAULT_CHECKS:
        for threshold in check.thresholds:
            assert threshold.key in KEYS[check.name], threshold
