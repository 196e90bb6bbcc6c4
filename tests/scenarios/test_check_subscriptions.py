"""subscriptions checker: client side (data per stream after the faults) and cloud side
(the last /api/sessions snapshot after the faults). Fault 10-12 on the app link."""

from __future__ import annotations

from wsquake.scenarios import Scenario, Verdict
from wsquake.scenarios.checkers import run_check

from .synth import Synth, app_entry, session_body, user_entry

SCENARIO = Scenario("t", "test", recovery_window_s=10.0)


def history(lost_after: bool = False, cloud_subs: tuple[str, ...] | None = ("head_position",
                                                                           "battery")) -> Synth:
    h = Synth().glasses_up().app_up(streams="head_position,battery")
    h.fault("cut", "app-link", "down", 10, 12)
    h.flow(start=1, stop=30, lost=lambda t: 10 <= t <= 12)
    h.flow(start=1, stop=30, stream="battery", lost=lambda t: t >= 10 and lost_after)
    if cloud_subs is not None:
        h.probe(25, session_body([user_entry(apps=[app_entry(subscriptions=cloud_subs)])]))
    return h


def test_subscriptions_pass_when_both_sides_hold_every_stream() -> None:
    result = run_check("subscriptions", history().frames(), SCENARIO)
    assert result.verdict is Verdict.PASS
    assert result.metrics["restored_rate"] == 1.0


def test_subscriptions_fail_when_a_stream_stays_silent_after_recovery() -> None:
    result = run_check("subscriptions", history(lost_after=True).frames(), SCENARIO)
    assert result.verdict is Verdict.FAIL
    assert result.metrics["client_restored_rate"] == 0.5
    assert "battery" in result.examples[0].detail


def test_subscriptions_fail_when_the_cloud_lost_part_of_the_set() -> None:
    result = run_check("subscriptions", history(cloud_subs=("head_position",)).frames(),
                       SCENARIO)
    assert result.verdict is Verdict.FAIL
    assert result.metrics["cloud_restored_rate"] == 0.0
    assert any("battery" in e.detail for e in result.examples)


def test_subscriptions_are_unknown_without_a_cloud_snapshot() -> None:
    result = run_check("subscriptions", history(cloud_subs=None).frames(), SCENARIO)
    assert result.verdict is Verdict.UNKNOWN
    assert result.metrics["cloud_restored_rate"] is None
    assert result.metrics["client_restored_rate"] == 1.0


def test_subscriptions_ignore_snapshots_taken_before_the_faults_ended() -> None:
    h = history(cloud_subs=None)
    h.probe(5, session_body([user_entry(apps=[app_entry(subscriptions=("head_position",
                                                                       "battery"))])]))
    result = run_check("subscriptions", h.frames(), SCENARIO)
    assert result.metrics["cloud_restored_rate"] is None
