"""lifecycle checker: app starts, resurrections, duplicate sessions."""

from __future__ import annotations

from wsquake.scenarios import Scenario, Verdict
from wsquake.scenarios.checkers import run_check

from .synth import APP, USER, Synth

SCENARIO = Scenario("t", "test")


def webhook(h: Synth, at: float, sid: str = APP) -> Synth:
    return h.add(at, "apps-0", "webhook", "invoke", sid, request="session_request",
                 package="com.a")


def test_lifecycle_passes_when_every_start_succeeds() -> None:
    h = Synth().glasses_up()
    h.add(1, "glasses-0", "start_app", "invoke", USER, 1, package="com.a")
    h.add(2, "glasses-0", "start_app", "ok", USER, 1, package="com.a")
    result = run_check("lifecycle", h.frames(), SCENARIO)
    assert result.verdict is Verdict.PASS
    assert result.metrics["start_success_rate"] == 1.0


def test_lifecycle_fails_when_a_start_never_completes() -> None:
    h = Synth().glasses_up()
    h.add(1, "glasses-0", "start_app", "invoke", USER, 1, package="com.a")
    h.add(1, "glasses-0", "start_app", "invoke", USER, 1, package="com.b")
    h.add(2, "glasses-0", "start_app", "ok", USER, 1, package="com.a")
    result = run_check("lifecycle", h.frames(), SCENARIO)
    assert result.verdict is Verdict.FAIL
    assert result.metrics["start_success_rate"] == 0.5


def test_lifecycle_falls_back_to_webhooks_and_acks_without_start_app() -> None:
    h = webhook(Synth(), 1).app_up(at=1.5)
    webhook(h, 1, "u@x.io-com.b")
    assert run_check("lifecycle", h.frames(), SCENARIO).metrics["start_success_rate"] == 0.5


def test_lifecycle_counts_repeated_session_requests_as_resurrections() -> None:
    h = webhook(webhook(webhook(Synth(), 1), 20), 40).app_up(at=1.5)
    assert run_check("lifecycle", h.frames(), SCENARIO).metrics["resurrections"] == 2


def test_lifecycle_fails_on_a_duplicate_session() -> None:
    h = webhook(Synth(), 1).app_up(at=1.5)
    h.add(30, "apps-0", "duplicate_session", "info", APP, package="com.a", live=2)
    result = run_check("lifecycle", h.frames(), SCENARIO)
    assert result.verdict is Verdict.FAIL
    assert result.metrics["duplicate_sessions"] == 1
    assert result.examples[0].client_id == APP


def test_lifecycle_is_unknown_without_any_start() -> None:
    result = run_check("lifecycle", Synth().glasses_up().frames(), SCENARIO)
    assert result.verdict is Verdict.UNKNOWN
