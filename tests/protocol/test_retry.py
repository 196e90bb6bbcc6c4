"""Reconnect bookkeeping: the SDK's attempt counter and the glasses' failure counter."""

from __future__ import annotations

import random

from wsquake.protocol import (
    AndroidPolicy,
    CloseDecision,
    CustomPolicy,
    GlassesRetry,
    IosPolicy,
    RetryAction,
    SdkAppPolicy,
    SdkRetry,
)


def test_sdk_retries_three_times_then_gives_up_with_4000() -> None:
    # Timeline against a refusing peer: close 1006, attempts at +1, +2, +4 s each fail.
    retry = SdkRetry()
    decisions = [retry.on_close(1006, "") for _ in range(4)]
    assert [d.action for d in decisions] == [RetryAction.RECONNECT] * 3 + [RetryAction.GIVE_UP]
    assert [d.delay_s for d in decisions[:3]] == [1.0, 2.0, 4.0]
    assert [d.attempt for d in decisions[:3]] == [1, 2, 3]
    assert (decisions[3].code, decisions[3].reason) == (
        4000,
        "Maximum reconnection attempts exceeded",
    )


def test_sdk_counter_resets_on_ack() -> None:
    retry = SdkRetry()
    retry.on_close(1006)
    retry.on_close(1006)
    retry.on_ack()
    again = retry.on_close(1006)
    assert (again.attempt, again.delay_s) == (1, 1.0)


def test_sdk_counter_resets_on_app_stopped() -> None:
    retry = SdkRetry()
    retry.on_close(1011)
    retry.on_app_stopped()
    assert retry.on_close(1011).attempt == 1


def test_sdk_stops_on_clean_and_policy_closes_without_counting() -> None:
    retry = SdkRetry()
    for code, reason in [(1000, "App stopped"), (1001, "Ping timeout - no pong received"),
                         (1008, "Superseded by a newer connection")]:
        decision = retry.on_close(code, reason)
        assert decision.action is RetryAction.STOP
        assert decision.close_decision is CloseDecision.STOP
        assert not decision.terminated
    assert retry.attempts == 0


def test_sdk_user_session_ended_is_terminated() -> None:
    decision = SdkRetry().on_close(1000, "User session ended")
    assert decision.action is RetryAction.STOP
    assert decision.terminated


def test_sdk_retry_uses_the_scaled_policy() -> None:
    retry = SdkRetry(SdkAppPolicy().scaled(0.1))
    assert retry.on_close(1006).delay_s == 0.1


def test_glasses_android_backoff_resets_on_open() -> None:
    retry = GlassesRetry(AndroidPolicy(jitter_s=0.0), random.Random(1))
    assert [retry.on_close().delay_s for _ in range(3)] == [1.0, 1.5, 2.25]
    retry.on_open()
    assert retry.on_close(1008, "boom").delay_s == 1.0


def test_glasses_always_reconnect_even_after_a_clean_close() -> None:
    retry = GlassesRetry(IosPolicy(), random.Random(1))
    for code in (1000, 1001, 1008, None):
        decision = retry.on_close(code)
        assert (decision.action, decision.delay_s) == (RetryAction.RECONNECT, 3.0)


def test_glasses_retry_is_reproducible_from_the_seed() -> None:
    def run(seed: int) -> list[float | None]:
        retry = GlassesRetry(AndroidPolicy(), random.Random(seed))
        return [retry.on_close().delay_s for _ in range(10)]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_glasses_custom_policy_can_give_up() -> None:
    retry = GlassesRetry(CustomPolicy(max_attempts=2), random.Random(0))
    actions = [retry.on_close().action for _ in range(3)]
    assert actions == [RetryAction.RECONNECT, RetryAction.RECONNECT, RetryAction.GIVE_UP]


def test_sdk_termination_is_sticky_like_the_sdk_flag() -> None:
    retry = SdkRetry()
    assert retry.on_close(1000, "User session ended").terminated
    later = retry.on_close(1006, "")
    assert later.action is RetryAction.STOP
    assert later.terminated
