"""recovery checker: tables of synthetic histories that must pass and must fail.

Timeline of the app-link cases (seconds, time_scale 1, recovery window 10 s): data every
second from 1 to 40; the app link is down from 10 to 12; the deadline is 22.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wsquake.scenarios import Scenario, Verdict
from wsquake.scenarios.checkers import run_check
from wsquake.scenarios.checkers.recovery import check_recovery

from .synth import APP, USER, Synth

SCENARIO = Scenario("t", "test", recovery_window_s=10.0)


def base() -> Synth:
    h = Synth().glasses_up(at=0).app_up(at=0.1)
    h.fault("cut", "app-link", "down", 10, 12)
    return h


def recovered_at(ack: float) -> Callable[[Synth], None]:
    def build(h: Synth) -> None:
        h.app_loss(at=10.2)
        h.app_up(conn=2, at=ack)
        h.flow(start=1, stop=40, lost=lambda t: 10 <= t < ack,
               conn=lambda t: 1 if t < 10 else 2)
    return build


def never(h: Synth) -> None:
    h.app_loss(at=10.2)
    h.add(17, "apps-0", "give_up", "fail", APP, 1, attempts=3)
    h.flow(start=1, stop=40, lost=lambda t: t >= 10)


def no_resubscribe(h: Synth) -> None:
    h.app_loss(at=10.2)
    h.app_up(conn=2, at=13, subscribe=False)
    h.flow(start=1, stop=40, lost=lambda t: t >= 10)


def stalled(h: Synth) -> None:  # a live socket whose data stops (D2)
    h.flow(start=1, stop=40, lost=lambda t: t >= 10)


def untouched(h: Synth) -> None:
    h.flow(start=1, stop=40)


CASES = [
    ("recovered-fast", recovered_at(13), "pass", {"recovered": 1, "never": 0, "rate": 1.0}),
    ("not-affected", untouched, "pass", {"disrupted": 0, "not_affected": 1, "rate": 1.0}),
    ("recovered-late", recovered_at(25), "fail", {"late": 1, "rate": 0.0}),
    ("never-reconnects", never, "fail", {"never": 1, "rate": 0.0}),
    ("never-resubscribes", no_resubscribe, "fail", {"never": 1}),
    ("data-stops-silently", stalled, "fail", {"never": 1, "disrupted": 1}),
]


@pytest.mark.parametrize(("build", "verdict", "expect"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_recovery_verdict_and_metrics_per_history(build, verdict, expect) -> None:
    h = base()
    build(h)
    result = run_check("recovery", h.frames(), SCENARIO)
    assert result.verdict == Verdict(verdict), result
    for key, value in expect.items():
        assert result.metrics[key] == value, (key, result.metrics)


def test_recovery_splits_time_into_phases() -> None:
    # fault 10-12; loss seen at 10.2; ack at 13.0; subscribe at 13.01; data each second
    # from 14 (sent 14.0, received 14.05) -> caught up at 14.05, total = 14.05 - 12
    h = base()
    recovered_at(13.5)(h)
    m = check_recovery(h.frames(), SCENARIO).metrics
    assert m["detect_p95_s"] == pytest.approx(0.2)
    assert m["reconnect_p95_s"] == pytest.approx(3.3)
    assert m["resubscribe_p95_s"] == pytest.approx(0.01)
    assert m["caught_up_p95_s"] == pytest.approx(14.05 - 13.51)
    assert m["max_s"] == pytest.approx(14.05 - 12)


def test_recovery_ignores_buffered_messages_sent_before_recovery_began() -> None:
    # messages sent at 10 and 11 (during the fault) are flushed at 13.1 after the ack at
    # 13.0: they are not fresh, so caught up waits for the message sent at 15 (15.05)
    h = base()
    h.app_loss(at=10.2)
    h.app_up(conn=2, at=13)
    h.flow(start=1, stop=9)
    for t in (10.0, 11.0):
        seq = h.send(t)
        h.receive(13.1, seq=seq, conn=2)
    h.flow(start=15, stop=40, conn=lambda t: 2)
    m = check_recovery(h.frames(), SCENARIO).metrics
    assert m["max_s"] == pytest.approx(15.05 - 12)


def test_recovery_scales_times_to_scenario_seconds() -> None:
    h = base()
    recovered_at(13)(h)
    fast = Scenario("t", "test", recovery_window_s=100.0, time_scale=0.1)
    m = check_recovery(h.frames(), fast).metrics
    assert m["detect_p95_s"] == pytest.approx(2.0)


def test_recovery_counts_a_glasses_client_without_echoes_as_caught_up_on_reconnect() -> None:
    h = Synth().glasses_up(at=0)
    h.fault("g", "glasses-link", "down", 10, 12)
    h.glasses_loss(at=10.1)
    h.glasses_up(conn=2, at=14)
    result = check_recovery(h.frames(), SCENARIO)
    assert result.metrics["recovered"] == 1
    assert result.metrics["max_s"] == pytest.approx(2.01)


def test_recovery_waits_for_a_fresh_echo_on_glasses_with_probes() -> None:
    h = Synth().glasses_up(at=0)
    h.fault("g", "glasses-link", "down", 10, 12)
    for t in range(1, 10):
        h.echo(t)
    h.glasses_loss(at=10.1)
    h.glasses_up(conn=2, at=14)
    h.echo(15, conn=2, answered=False)  # the first probe after reconnecting is lost
    h.echo(16, conn=2)
    m = check_recovery(h.frames(), SCENARIO).metrics
    assert m["recovered"] == 1
    assert m["max_s"] == pytest.approx(16.05 - 12)


def test_recovery_ignores_stale_and_self_closes() -> None:
    h = base()
    h.flow(start=1, stop=40)
    h.add(10.5, "apps-0", "close", "info", APP, 1, code=1000, initiator="self")
    h.add(10.6, "glasses-0", "close", "ok", USER, 1, code=1000, initiator="self", stale=True)
    result = check_recovery(h.frames(), SCENARIO)
    assert result.metrics["disrupted"] == 0


def test_recovery_without_faults_passes_with_nothing_to_recover() -> None:
    h = Synth().glasses_up().app_up()
    h.flow(start=1, stop=5)
    result = check_recovery(h.frames(), SCENARIO)
    assert result.verdict is Verdict.PASS
    assert result.metrics["episodes"] == 0
    assert result.metrics["p95_s"] is None  # no fault ran: nothing to measure


def test_recovery_examples_show_the_never_recovering_session() -> None:
    h = base()
    never(h)
    result = check_recovery(h.frames(), SCENARIO, {"max_examples": 1})
    assert len(result.examples) == 1
    ex = result.examples[0]
    assert (ex.client_id, ex.outcome) == (APP, "never")
    assert [e["kind"] for e in ex.events] == ["close", "give_up"]


def test_recovery_merges_flapping_windows_into_one_episode() -> None:
    h = Synth().glasses_up().app_up(at=0.1)
    for k in range(3):
        h.fault("flap", "app-link", "down", 10 + 3 * k, 11 + 3 * k)
    recovered_at(17)(h)
    m = check_recovery(h.frames(), SCENARIO).metrics
    assert m["episodes"] == 1
    assert m["recovered"] == 1


def test_recovery_reports_never_per_role() -> None:
    h = base()
    never(h)
    m = check_recovery(h.frames(), SCENARIO).metrics
    assert (m["app_never"], m["glasses_never"]) == (1, 0)


def test_recovery_percentiles_are_zero_when_faults_ran_but_nothing_was_disrupted() -> None:
    h = base()
    untouched(h)
    m = check_recovery(h.frames(), SCENARIO).metrics
    assert (m["p95_s"], m["max_s"], m["disrupted"]) == (0.0, 0.0, 0)


def test_recovery_resubscribe_waits_for_the_full_subscription_set() -> None:
    # after the ack at 13 the SDK sends "" then "head_position,battery" at 13.5
    h = Synth().glasses_up().app_up(at=0.1, streams="head_position,battery")
    h.fault("cut", "app-link", "down", 10, 12)
    h.app_loss(at=10.2)
    h.app_up(conn=2, at=13, streams="")
    h.add(13.5, "apps-0", "subscribe", "invoke", APP, 2, streams="battery,head_position")
    h.flow(start=1, stop=40, lost=lambda t: 10 <= t < 14, conn=lambda t: 1 if t < 10 else 2)
    m = check_recovery(h.frames(), SCENARIO).metrics
    assert m["resubscribe_p95_s"] == pytest.approx(0.5)


def test_recovery_counts_own_closes_of_a_restarted_process_as_losses() -> None:
    # the app server stops at 10 (its sessions close themselves), restarts at 12 and the
    # same session id connects again with conn 1 at 13
    h = Synth().glasses_up().app_up(at=0.1)
    h.fault("restart", "apps", "restart", 10, 12)
    h.add(10.1, "apps-0", "close", "invoke", APP, 1, code=1005, initiator="self")
    h.app_up(conn=1, at=13)
    h.flow(start=1, stop=40, lost=lambda t: 10 <= t < 13)
    m = check_recovery(h.frames(), SCENARIO).metrics
    assert (m["disrupted"], m["recovered"]) == (1, 1)
    assert m["detect_p95_s"] == pytest.approx(0.1)


def test_recovery_ignores_own_closes_for_link_faults() -> None:
    h = base()
    h.add(10.1, "apps-0", "close", "invoke", APP, 1, code=1005, initiator="self")
    h.flow(start=1, stop=40)
    assert check_recovery(h.frames(), SCENARIO).metrics["disrupted"] == 0


def test_recovery_counts_losses_outside_every_fault_as_unprovoked() -> None:
    h = Synth().glasses_up().app_up()
    h.fault("cut", "app-link", "down", 10, 12)
    h.app_loss(at=5)          # before the fault: unprovoked
    h.app_up(conn=2, at=6)
    h.app_loss(conn=2, at=10.5)  # during the fault: explained
    h.app_up(conn=3, at=13)
    h.glasses_loss(at=30)     # after the recovery window (12 + 10): unprovoked
    h.probe(40, None, outcome="fail")
    h.glasses_loss(at=41)     # after the audit (shutdown): not counted
    h.flow(start=1, stop=40)
    assert check_recovery(h.frames(), SCENARIO).metrics["unprovoked_losses"] == 2


def test_recovery_separates_reconnecting_from_catching_up() -> None:
    h = Synth().glasses_up()
    h.fault("g", "glasses-link", "down", 10, 12)
    for t in range(1, 10):
        h.echo(t)
    h.glasses_loss(at=10.1)
    h.glasses_up(conn=2, at=14)
    for t in range(15, 30):
        h.echo(t, conn=2, answered=False)  # the echo app is gone: no fresh echo
    m = check_recovery(h.frames(), SCENARIO).metrics
    assert (m["glasses_never"], m["glasses_reconnect_rate"]) == (1, 1.0)
