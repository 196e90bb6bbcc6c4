"""Thresholds: parsing, the tiny expression language, and three-valued evaluation."""

from __future__ import annotations

import math

import pytest

from wsquake.scenarios import Scenario, Threshold, ThresholdError, Verdict, worst


@pytest.mark.parametrize(("text", "metrics", "verdict"), [
    ("recovery.rate >= 0.99", {"rate": 1.0}, "pass"),
    ("recovery.rate >= 0.99", {"rate": 0.5}, "fail"),
    ("recovery.p95_s <= 8", {"p95_s": 8}, "pass"),
    ("recovery.p95_s < 8", {"p95_s": 8}, "fail"),
    ("delivery.lost_after_recovery == 0", {"lost_after_recovery": 0}, "pass"),
    ("delivery.lost_after_recovery == 0", {"lost_after_recovery": 3}, "fail"),
    ("leaks.zombie_sessions != 0", {"zombie_sessions": 0}, "fail"),
    ("recovery.max_s > 1", {"max_s": 2}, "pass"),
    ("recovery.p95_s <= 8s", {"p95_s": 7.9}, "pass"),
    ("recovery.p95_s <= 500ms", {"p95_s": 0.6}, "fail"),
    ("recovery.rate >= 0.99", {}, "unknown"),
    ("recovery.rate >= 0.99", {"rate": None}, "unknown"),
    ("recovery.rate >= 0.99", {"rate": math.nan}, "unknown"),
    ("recovery.rate >= 0.99", {"recovery.rate": 1.0}, "pass"),
])
def test_threshold_verdict(text, metrics, verdict) -> None:
    assert Threshold(text).evaluate(metrics).verdict == Verdict(verdict)


def test_threshold_resolves_timing_symbols_from_the_scenario() -> None:
    th = Threshold("health.detect_p95_s <= pong_deadline_s + ping_interval_s")
    result = th.evaluate({"detect_p95_s": 39.0}, Scenario("t", "d").symbols())
    assert (result.verdict, result.expected, result.measured) == (Verdict.PASS, 40.0, 39.0)


def test_threshold_reads_ms_timings_as_seconds() -> None:
    th = Threshold("recovery.p95_s <= 2 * display_throttle_ms")
    assert th.expected(Scenario("t", "d").symbols()) == pytest.approx(0.6)


def test_threshold_keeps_the_text_and_the_metric_name() -> None:
    th = Threshold("  recovery.rate >= 0.99 ")
    assert (th.text, th.metric, th.check, th.key) == (
        "recovery.rate >= 0.99", "recovery.rate", "recovery", "rate")
    assert th == Threshold("recovery.rate >= 0.99")


@pytest.mark.parametrize(("text", "message"), [
    ("recovery.rate", "expected '<check>.<metric> <op> <value>'"),
    ("rate >= 1", "expected '<check>.<metric> <op> <value>'"),
    ("recovery.rate => 1", "with op one of"),
    ("recovery.rate >= nope_s", "unknown symbol 'nope_s'"),
    ("recovery.rate >= __import__('os')", "only numbers"),
    ("recovery.rate >= (1", "cannot parse"),
    ("recovery.rate >= 1e999", "finite"),
])
def test_threshold_rejects_a_bad_string_naming_it(text, message) -> None:
    with pytest.raises(ThresholdError, match="threshold") as info:
        Threshold(text)
    assert message in str(info.value)
    assert repr(text) in str(info.value) or text in str(info.value)


def test_threshold_needs_a_value_for_each_symbol() -> None:
    with pytest.raises(ThresholdError, match="no value for app_grace_s"):
        Threshold("recovery.p95_s <= app_grace_s").evaluate({"p95_s": 1})


def test_worst_orders_fail_over_unknown_over_pass() -> None:
    assert worst([]) is Verdict.PASS
    assert worst(["pass", "unknown"]) is Verdict.UNKNOWN
    assert worst([Verdict.UNKNOWN, Verdict.FAIL, Verdict.PASS]) is Verdict.FAIL
