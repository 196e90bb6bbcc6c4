"""Client reconnect policies (§10): delay sequences, close decisions, scaling."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from typing import Any

import pytest

from wsquake.protocol import (
    POLICY_NAMES,
    AndroidPolicy,
    BackoffKind,
    CloseCode,
    CloseDecision,
    CloseReason,
    CustomPolicy,
    InvalidPolicy,
    IosPolicy,
    PolicyError,
    SdkAppPolicy,
    UnknownPolicy,
    policy_by_name,
)

# --- SDK AppSession (§10.1) ------------------------------------------------------------------


def test_sdk_attempts_wait_1_2_4_seconds_then_give_up() -> None:
    policy = SdkAppPolicy()
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, None, None]
    assert policy.delays() == [1.0, 2.0, 4.0]


def test_sdk_attempts_against_a_refusing_peer_start_at_1_3_7_seconds() -> None:
    starts = list(itertools.accumulate(SdkAppPolicy().delays()))
    assert starts == [1.0, 3.0, 7.0]


def test_sdk_give_up_is_close_4000_max_reconnects() -> None:
    assert SdkAppPolicy.GIVE_UP_CODE == 4000
    assert SdkAppPolicy.GIVE_UP_REASON == "Maximum reconnection attempts exceeded"


def test_sdk_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        SdkAppPolicy().delay(0)


def test_sdk_with_more_attempts_keeps_doubling() -> None:
    assert SdkAppPolicy(max_attempts=5, base_delay_s=0.5).delays() == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_sdk_with_zero_attempts_gives_up_at_once() -> None:
    assert SdkAppPolicy(max_attempts=0).delay(1) is None


CLOSE_TABLE: list[tuple[int | None, str | None, CloseDecision]] = [
    (1000, CloseReason.APP_STOPPED, CloseDecision.STOP),
    (1000, CloseReason.USER_SESSION_ENDED, CloseDecision.TERMINATED),
    (1000, "", CloseDecision.STOP),
    (1000, CloseReason.REPLACED, CloseDecision.STOP),
    (1001, CloseReason.PING_TIMEOUT, CloseDecision.STOP),
    (1001, "", CloseDecision.STOP),
    (1005, "", CloseDecision.RECONNECT),
    (1005, None, CloseDecision.RECONNECT),
    (1006, "", CloseDecision.RECONNECT),
    (1008, CloseReason.INVALID_SESSION_ID, CloseDecision.STOP),
    (1008, CloseReason.SUPERSEDED, CloseDecision.STOP),
    (1008, "Session not found", CloseDecision.STOP),
    (1009, "", CloseDecision.RECONNECT),
    (1011, "Internal error", CloseDecision.RECONNECT),
    (1069, "", CloseDecision.RECONNECT),
    (4000, CloseReason.MAX_RECONNECTS, CloseDecision.RECONNECT),
    (4001, "", CloseDecision.RECONNECT),
    (None, None, CloseDecision.RECONNECT),
    # Reasons are matched as substrings, whatever the code.
    (1006, "App stopped", CloseDecision.STOP),
    (1011, "cloud: App stopped by admin", CloseDecision.STOP),
    (1011, "User session ended", CloseDecision.TERMINATED),
    (1008, "x User session ended y", CloseDecision.TERMINATED),
]


@pytest.mark.parametrize(("code", "reason", "decision"), CLOSE_TABLE)
def test_sdk_close_decision(code: int | None, reason: str | None, decision: CloseDecision) -> None:
    assert SdkAppPolicy.close_decision(code, reason) is decision


def test_close_decision_accepts_close_code_members() -> None:
    assert SdkAppPolicy().close_decision(CloseCode.ABNORMAL, "") is CloseDecision.RECONNECT


# --- Android (§10.2) ---------------------------------------------------------------------------


def test_android_delay_grows_by_1_5_plus_up_to_1_s_of_jitter() -> None:
    policy = AndroidPolicy()
    rng = random.Random(7)
    for n in range(9):  # 1.5**8 = 25.6 s, still below the cap
        delay = policy.delay(n, rng)
        floor = 1.5**n
        assert floor <= delay <= floor + 1.0


def test_android_delay_is_capped_at_30_s() -> None:
    policy = AndroidPolicy()
    rng = random.Random(7)
    assert [policy.delay(n, rng) for n in (9, 10, 50, 10_000)] == [30.0] * 4


def test_android_jitter_is_reproducible_from_the_seed() -> None:
    policy = AndroidPolicy()
    first = list(itertools.islice(policy.backoff(random.Random(1234)), 12))
    second = list(itertools.islice(policy.backoff(random.Random(1234)), 12))
    other = list(itertools.islice(policy.backoff(random.Random(4321)), 12))
    assert first == second
    assert first != other


def test_android_delay_needs_an_rng() -> None:
    with pytest.raises(ValueError, match="rng"):
        AndroidPolicy().delay(0)


def test_android_without_jitter_is_exactly_exponential() -> None:
    policy = AndroidPolicy(jitter_s=0.0)
    assert [policy.delay(n, random.Random(0)) for n in range(4)] == [1.0, 1.5, 2.25, 3.375]


def test_android_client_timings_default_to_upstream() -> None:
    policy = AndroidPolicy()
    assert (policy.init_delay_s, policy.client_ping_interval_s) == (1.0, 30.0)


# --- iOS (§10.3) --------------------------------------------------------------------------------


def test_ios_waits_a_fixed_3_s_forever() -> None:
    policy = IosPolicy()
    assert {policy.delay(n) for n in (0, 1, 5, 1000)} == {3.0}
    assert (policy.init_delay_s, policy.client_ping_interval_s) == (2.0, 0.0)


# --- custom ------------------------------------------------------------------------------------


def test_custom_fixed_policy_repeats_the_base_delay() -> None:
    policy = CustomPolicy(kind=BackoffKind.FIXED, base_s=0.5)
    assert [policy.delay(n) for n in range(4)] == [0.5] * 4


def test_custom_exponential_policy_is_capped_and_limited() -> None:
    policy = CustomPolicy(base_s=1.0, factor=3.0, cap_s=10.0, max_attempts=4)
    assert [policy.delay(n) for n in range(5)] == [1.0, 3.0, 9.0, 10.0, None]


def test_custom_jitter_comes_from_the_rng() -> None:
    policy = CustomPolicy(kind="fixed", base_s=1.0, jitter_s=0.5)  # type: ignore[arg-type]
    assert policy.kind is BackoffKind.FIXED
    a = [policy.delay(n, random.Random(3)) for n in range(3)]
    assert a == [policy.delay(n, random.Random(3)) for n in range(3)]
    assert all(a_n is not None and 1.0 <= a_n <= 1.5 for a_n in a)
    with pytest.raises(ValueError, match="rng"):
        policy.delay(0)


def test_custom_policy_with_an_unknown_kind_is_rejected() -> None:
    with pytest.raises(InvalidPolicy, match="'kind'"):
        CustomPolicy(kind="linear")  # type: ignore[arg-type]


def test_custom_exponential_survives_huge_failure_counts() -> None:
    assert CustomPolicy(factor=10.0, cap_s=60.0).delay(100_000) == 60.0


# --- names, validation, scaling --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("sdk_2_1", SdkAppPolicy),
        ("sdk_2_0", SdkAppPolicy),
        ("android", AndroidPolicy),
        ("ios", IosPolicy),
        ("custom", CustomPolicy),
    ],
)
def test_policy_by_name_builds_each_profile(name: str, cls: type[Any]) -> None:
    policy = policy_by_name(name)
    assert isinstance(policy, cls)
    assert policy.name == name
    assert name in POLICY_NAMES


def test_policy_by_name_applies_overrides() -> None:
    policy = policy_by_name("sdk_2_1", max_attempts=5, base_delay_s=0.25)
    assert policy.delays() == [0.25, 0.5, 1.0, 2.0, 4.0]


def test_unknown_policy_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownPolicy, match="'windows-phone'.*android"):
        policy_by_name("windows-phone")


def test_unknown_override_key_is_named() -> None:
    with pytest.raises(InvalidPolicy, match="'max_tries' is not a setting"):
        policy_by_name("sdk_2_1", max_tries=3)


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("sdk_2_1", "max_attempts", -1),
        ("sdk_2_1", "max_attempts", 1.5),
        ("sdk_2_1", "max_attempts", True),
        ("sdk_2_1", "base_delay_s", -0.1),
        ("sdk_2_1", "ack_timeout_s", "5"),
        ("android", "cap_s", math.inf),
        ("android", "jitter_s", math.nan),
        ("android", "factor", 0.5),
        ("ios", "interval_s", None),
        ("custom", "max_attempts", -2),
        ("custom", "factor", 0.9),
    ],
)
def test_bad_policy_values_are_rejected_naming_the_key(name: str, key: str, value: Any) -> None:
    with pytest.raises(InvalidPolicy) as info:
        policy_by_name(name, **{key: value})
    assert info.value.key == key
    assert f"'{key}'" in str(info.value)
    assert isinstance(info.value, PolicyError)


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_scaled_multiplies_every_duration_and_nothing_else(name: str) -> None:
    policy = policy_by_name(name)
    scaled = policy.scaled(0.1)
    for f in dataclasses.fields(policy):
        before, after = getattr(policy, f.name), getattr(scaled, f.name)
        if f.name.endswith("_s"):
            assert after == pytest.approx(before * 0.1), f.name
        else:
            assert after == before, f.name
    assert policy == policy_by_name(name)  # the original is unchanged


def test_scaled_sdk_schedule_is_the_real_schedule_times_the_factor() -> None:
    assert SdkAppPolicy().scaled(0.01).delays() == pytest.approx([0.01, 0.02, 0.04])


def test_scaled_android_delays_scale_with_the_same_seed() -> None:
    real = AndroidPolicy()
    fast = real.scaled(0.1)
    for n in range(12):
        expected = real.delay(n, random.Random(n)) * 0.1
        assert fast.delay(n, random.Random(n)) == pytest.approx(expected)


@pytest.mark.parametrize("factor", [0, -1, math.nan, math.inf, "2", True])
def test_scaled_rejects_a_bad_factor(factor: Any) -> None:
    with pytest.raises(InvalidPolicy, match="time_scale"):
        IosPolicy().scaled(factor)
