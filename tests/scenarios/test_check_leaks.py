"""leaks checker: the last /api/sessions snapshot against the live clients."""

from __future__ import annotations

import pytest

from wsquake.scenarios import Scenario, Verdict
from wsquake.scenarios.checkers import run_check

from .synth import APP, USER, Synth, app_entry, session_body, user_entry

SCENARIO = Scenario("t", "test")


def fleet() -> Synth:
    return Synth().glasses_up().app_up(at=0.1)


def healthy_body(**changes) -> dict:
    return session_body([user_entry(apps=[app_entry(**changes)])])


def test_leaks_pass_when_the_cloud_holds_exactly_the_live_clients() -> None:
    h = fleet().probe(1, healthy_body()).probe(50, healthy_body())
    result = run_check("leaks", h.frames(), SCENARIO)
    assert result.verdict is Verdict.PASS
    assert result.metrics["zombie_sessions"] == 0
    assert result.metrics["connection_growth"] == 0


def test_leaks_fail_on_a_zombie_session_in_the_last_probe() -> None:
    h = fleet().add(20, "glasses-0", "give_up", "fail", USER, 1)
    h.glasses_loss(at=19)
    h.probe(50, healthy_body())
    result = run_check("leaks", h.frames(), SCENARIO)
    assert result.verdict is Verdict.FAIL
    assert result.metrics["zombie_sessions"] == 1
    assert result.examples[0].client_id == USER


@pytest.mark.parametrize(("changes", "key", "value"), [
    ({"sockets": 2}, "orphan_app_connections", 1),
    ({"state": "loading", "sockets": 1}, "stuck_loading", 1),
])
def test_leaks_fail_on_extra_sockets_and_stuck_apps(changes, key, value) -> None:
    h = fleet().probe(50, healthy_body(**changes))
    result = run_check("leaks", h.frames(), SCENARIO)
    assert result.verdict is Verdict.FAIL
    assert result.metrics[key] == value


def test_leaks_count_sockets_of_a_dead_app_client_as_orphans() -> None:
    h = fleet().app_loss(at=10).probe(50, healthy_body())
    assert run_check("leaks", h.frames(), SCENARIO).metrics["orphan_app_connections"] == 1


def test_leaks_measure_connection_growth_against_the_steady_snapshot() -> None:
    h = fleet().probe(1, session_body([], glasses=1, app=1))
    h.fault("f", "app-link", "down", 5, 6)
    h.probe(50, session_body([], glasses=1, app=3))
    assert run_check("leaks", h.frames(), SCENARIO).metrics["connection_growth"] == 2


def test_leaks_are_unknown_without_probes() -> None:
    result = run_check("leaks", fleet().frames(), SCENARIO)
    assert result.verdict is Verdict.UNKNOWN
    assert result.metrics["zombie_sessions"] is None


def test_leaks_skip_a_failed_probe_and_use_the_last_good_one() -> None:
    h = fleet().probe(40, healthy_body(sockets=2)).probe(50, None, outcome="fail")
    assert run_check("leaks", h.frames(), SCENARIO).metrics["orphan_app_connections"] == 1


def test_leaks_ignore_disconnected_users() -> None:
    body = session_body([user_entry("gone@x.io", state="DISCONNECTED"),
                         user_entry(apps=[app_entry(APP)])])
    h = fleet().probe(50, body)
    assert run_check("leaks", h.frames(), SCENARIO).metrics["zombie_sessions"] == 0


def test_leaks_match_closes_to_their_connection_epoch() -> None:
    # a superseded socket (conn 1) closes after the new one (conn 2) was acknowledged
    h = fleet().app_up(conn=2, at=20).add(20.5, "apps-0", "close", "info", APP, 1, code=1008,
                                         initiator="peer")
    h.probe(50, healthy_body())
    assert run_check("leaks", h.frames(), SCENARIO).metrics["orphan_app_connections"] == 0


def test_leaks_see_a_restarted_client_counting_epochs_from_one_again_as_live() -> None:
    h = fleet().add(10, "apps-0", "close", "invoke", APP, 1, code=1005, initiator="self")
    h.app_up(conn=1, at=13)
    h.probe(50, healthy_body())
    assert run_check("leaks", h.frames(), SCENARIO).metrics["orphan_app_connections"] == 0
