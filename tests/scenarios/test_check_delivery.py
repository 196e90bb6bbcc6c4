"""delivery checker: histories that must pass and must fail.

Timeline (seconds, time_scale 1, recovery window 10 s): a message every second from 1 to
40 from the glasses of u@x.io to one app; an app-link fault from 10 to 12 (recovery
phase 12-22, after phase from 22). A message sent in the last second and not received
is in flight, not lost.
"""

from __future__ import annotations

import pytest

from wsquake.scenarios import CheckSpec, Scenario, Verdict
from wsquake.scenarios.checkers import run_check
from wsquake.scenarios.checkers.delivery import check_delivery

from .synth import APP, Synth

SCENARIO = Scenario("t", "test", recovery_window_s=10.0)


def history(**flow) -> Synth:
    h = Synth().glasses_up(at=0).app_up(at=0.1)
    h.fault("cut", "app-link", "down", 10, 12)
    h.flow(start=1, stop=40, **flow)
    return h


CASES = [
    ("clean", {}, "pass", {"lost": 0, "lost_after_recovery": 0, "delivered": 40}),
    ("loss-during-fault-is-allowed", {"lost": lambda t: 10 <= t <= 11}, "pass",
     {"lost": 2, "lost_fault": 2, "lost_after_recovery": 0}),
    ("loss-in-steady-state", {"lost": lambda t: t == 5}, "pass", {"lost_steady": 1}),
    ("gap-after-recovery-fails", {"lost": lambda t: t in (15, 16)}, "fail",
     {"lost_recovery": 2, "lost_after_recovery": 2}),
    ("loss-in-after-phase-fails", {"lost": lambda t: t == 30}, "fail",
     {"lost_after": 1, "lost_after_recovery": 1}),
    ("never-resumes-fails", {"lost": lambda t: t >= 10}, "fail", {"lost_after": 17}),
    ("unsent-while-offline-is-not-lost", {"sent": lambda t: not 10 <= t <= 13}, "pass",
     {"lost": 0}),
]


@pytest.mark.parametrize(("flow", "verdict", "expect"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_delivery_verdict_and_metrics_per_history(flow, verdict, expect) -> None:
    result = run_check("delivery", history(**flow).frames(), SCENARIO)
    assert result.verdict == Verdict(verdict), result.summary
    for key, value in expect.items():
        assert result.metrics[key] == value, (key, result.metrics)


def test_delivery_counts_a_duplicate_seq_as_duplicated() -> None:
    h = history()
    h.receive(5.5, seq=5)
    result = check_delivery(h.frames(), SCENARIO)
    assert result.metrics["duplicated"] == 1
    assert result.metrics["reordered"] == 0


def test_delivery_counts_an_older_seq_after_a_newer_one_as_reordered() -> None:
    h = Synth().glasses_up().app_up()
    for seq, t in ((1, 1.0), (2, 2.0), (3, 3.0)):
        h.send(t, seq=seq)
    h.receive(1.1, seq=1).receive(3.1, seq=3).receive(3.2, seq=2)
    m = check_delivery(h.frames(), Scenario("t", "test")).metrics
    assert (m["reordered"], m["lost"], m["duplicated"]) == (1, 0, 0)


def test_delivery_expects_every_app_of_a_user_to_receive() -> None:
    other = "u@x.io-com.b"
    h = Synth().glasses_up().app_up().app_up(other)
    h.flow(sids=[APP, other], start=1, stop=10)
    seq = h.send(11)
    h.receive(11.1, seq=seq)  # only one of the two apps got it
    h.flow(sids=[APP, other], start=12, stop=20)
    m = check_delivery(h.frames(), Scenario("t", "test")).metrics
    assert m["lost"] == 1
    assert m["expected"] == 2 * 20


def test_delivery_does_not_expect_messages_sent_before_an_app_joined() -> None:
    h = Synth().glasses_up()
    h.flow(start=1, stop=20, lost=lambda t: t < 5)  # the app joined at 5
    assert check_delivery(h.frames(), Scenario("t", "test")).metrics["lost"] == 0


def test_delivery_is_unknown_without_any_receive() -> None:
    h = Synth().glasses_up()
    h.send(1.0)
    result = check_delivery(h.frames(), SCENARIO)
    assert result.verdict is Verdict.UNKNOWN
    assert result.metrics["lost"] is None


def test_delivery_example_names_the_lost_seqs() -> None:
    h = history(lost=lambda t: t in (15, 16))
    ex = check_delivery(h.frames(), SCENARIO).examples[0]
    assert ex.client_id == APP
    assert "seq 15, 16" in ex.detail


def test_delivery_thresholds_can_allow_loss_during_the_fault_only() -> None:
    strict = Scenario("t", "test", recovery_window_s=10.0,
                      checks=(CheckSpec.of("delivery", "delivery.lost_fault <= 1"),))
    h = history(lost=lambda t: 10 <= t <= 11)
    result = run_check("delivery", h.frames(), strict)
    assert result.verdict is Verdict.FAIL
    assert result.thresholds[0].measured == 2


def test_delivery_counts_an_undelivered_message_of_the_last_second_as_in_flight() -> None:
    h = history(lost=lambda t: t == 40)
    m = check_delivery(h.frames(), SCENARIO).metrics
    assert (m["lost"], m["in_flight"]) == (0, 1)


def test_delivery_does_not_count_buffer_flushes_as_resumption() -> None:
    # fault 10-12; the grace buffer (sent 12, 13) is flushed at 14.5 but the message sent
    # at 14 (before the re-subscription at 14.5) is dropped by design; the stream resumes
    # with the message sent at 15
    h = Synth().glasses_up().app_up()
    h.fault("cut", "app-link", "down", 10, 12)
    h.flow(start=1, stop=9)
    h.app_loss(at=10.1)
    for t in (12.0, 13.0):
        h.receive(14.4, seq=h.send(t), conn=2)
    h.send(14.0)
    h.app_up(conn=2, at=14.49)
    h.flow(start=15, stop=30, conn=lambda t: 2)
    m = check_delivery(h.frames(), SCENARIO).metrics
    assert (m["lost"], m["lost_recovery"], m["lost_after_recovery"]) == (1, 1, 0)
