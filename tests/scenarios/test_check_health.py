"""health checker. Cloud timings: pong deadline 30 s + ping interval 10 s + close
handshake 1 s = 41 s expected; snapshots every 5 s; glasses-link blackhole 10-100."""

from __future__ import annotations

import pytest

from wsquake.scenarios import CloudSpec, Scenario, Verdict
from wsquake.scenarios.checkers import run_check

from .synth import Synth, app_entry, session_body, user_entry

SCENARIO = Scenario("t", "test")


def history(detected_at: float | None, end: float = 100.0) -> Synth:
    h = Synth().glasses_up()
    h.fault("bh", "glasses-link", "timeout", 10, end)
    t = 0.0
    while t <= 120:
        state = "CONNECTING" if detected_at is not None and t >= detected_at else "CONNECTED"
        h.probe(t, session_body([user_entry(state=state)]))
        t += 5
    return h


@pytest.mark.parametrize(("detected", "verdict", "detect_max"), [
    (45.0, "pass", 35.0),   # 35 s after the blackhole began: within 41 s + 5 s slack
    (70.0, "fail", 60.0),   # too late
    (None, "fail", None),   # never (D3: no pong deadline)
])
def test_health_detection_time_per_history(detected, verdict, detect_max) -> None:
    result = run_check("health", history(detected).frames(), SCENARIO)
    assert result.verdict == Verdict(verdict), result.summary
    assert result.metrics["detect_max_s"] == detect_max
    assert result.metrics["expected_max_s"] == 41.0


def test_health_counts_a_never_detected_session_as_undetected() -> None:
    result = run_check("health", history(None).frames(), SCENARIO)
    assert result.metrics["undetected"] == 1


def test_health_does_not_judge_a_blackhole_shorter_than_the_deadline() -> None:
    result = run_check("health", history(None, end=20.0).frames(), SCENARIO)
    assert result.verdict is Verdict.PASS
    assert result.metrics["too_short"] == 1


def test_health_passes_with_no_blackhole() -> None:
    h = Synth().glasses_up()
    h.fault("d", "glasses-link", "down", 10, 12)
    result = run_check("health", h.frames(), SCENARIO)
    assert result.verdict is Verdict.PASS
    assert result.metrics["blackholes"] == 0


def test_health_is_unknown_without_snapshots() -> None:
    h = Synth().glasses_up()
    h.fault("bh", "glasses-link", "timeout", 10, 100)
    assert run_check("health", h.frames(), SCENARIO).verdict is Verdict.UNKNOWN


def test_health_expects_nothing_finite_when_the_pong_deadline_is_off() -> None:
    d3 = Scenario("t", "test", cloud=CloudSpec(timings={"pong_deadline_s": 0}))
    result = run_check("health", history(None).frames(), d3)
    assert result.metrics["expected_max_s"] is None
    assert result.verdict is Verdict.PASS  # nothing expected: thresholds must say more


def test_health_ignores_a_blackhole_on_the_webhook_link() -> None:
    h = Synth().glasses_up()
    h.fault("wh", "webhook-link", "timeout", 10, 100)
    h.probe(5, session_body([user_entry()]))
    result = run_check("health", h.frames(), SCENARIO)
    assert result.metrics["blackholes"] == 0 and result.verdict is Verdict.PASS


def test_health_ignores_running_apps_without_a_socket() -> None:
    # the dashboard system app runs with no socket: nothing to detect, never "affected"
    h = Synth().app_up()
    h.fault("bh", "app-link", "timeout", 10, 100)
    t = 0.0
    while t <= 120:
        app_state = "grace_period" if t >= 45 else "running"
        h.probe(t, session_body([user_entry(apps=[
            app_entry(state=app_state),
            app_entry("u@x.io-system.dashboard", sockets=0, pkg="system.dashboard"),
        ])]))
        t += 5
    result = run_check("health", h.frames(), SCENARIO)
    assert (result.metrics["affected"], result.metrics["detect_max_s"]) == (1, 35.0)
    assert result.metrics["detect_p50_s"] == 35.0
