"""Built-in toxics as pure stages: synthetic chunks and ``now`` values, no sockets."""

from __future__ import annotations

import math
import random

import pytest

from wsquake.faults.toxics.base import CloseLink, Emit, InvalidAttributes
from wsquake.faults.toxics.builtin import (
    BandwidthStage,
    LatencyStage,
    LimitDataStage,
    ResetPeerStage,
    SlicerStage,
    SlowCloseStage,
    TimeoutStage,
)
from wsquake.faults.toxics.registry import ToxicKind, kinds, lookup, register

T0 = 1000.0  # an arbitrary monotonic "now"


def emits(actions: list) -> list[Emit]:
    return [a for a in actions if isinstance(a, Emit)]


# -- latency ----------------------------------------------------------------------------


def test_latency_emits_at_read_stamp_plus_latency() -> None:
    stage = LatencyStage(100, 0, random.Random(1))
    # Read at T0, reaches the stage 30 ms later: it still leaves at T0 + 100 ms (pipelined).
    [e] = stage.data(b"x", T0, T0 + 0.030)
    assert e == Emit(b"x", T0 + 0.100, T0 + 0.100)


def test_latency_advances_the_stamp_so_stacked_latencies_add() -> None:
    first, second = LatencyStage(500, 0, random.Random(1)), LatencyStage(500, 0, random.Random(1))
    [a] = first.data(b"x", T0, T0)
    [b] = second.data(a.data, a.stamp, a.at)
    assert b.at == pytest.approx(T0 + 1.0)


def test_latency_jitter_stays_in_half_open_range() -> None:
    stage = LatencyStage(100, 50, random.Random(7))
    delays = [round((stage.data(b"x", T0, T0)[0].at - T0) * 1000) for _ in range(500)]
    assert min(delays) >= 50 and max(delays) < 150
    assert max(delays) - min(delays) > 50  # it really varies


def test_latency_negative_total_delay_leaves_at_once() -> None:
    [e] = LatencyStage(-100, 0, random.Random(1)).data(b"x", T0, T0)
    assert e.at == T0 and e.stamp == T0


# -- bandwidth --------------------------------------------------------------------------


def test_bandwidth_small_chunk_takes_len_over_rate_ms() -> None:
    stage = BandwidthStage(10)  # 10 KB/s = 10 bytes per ms
    [e] = stage.data(b"a" * 500, T0, T0)
    assert e.at == pytest.approx(T0 + 0.050)


def test_bandwidth_back_to_back_chunks_accumulate() -> None:
    stage = BandwidthStage(10)
    stage.data(b"a" * 500, T0, T0)
    [e] = stage.data(b"b" * 500, T0, T0)
    assert e.at == pytest.approx(T0 + 0.100)


def test_bandwidth_idle_time_earns_no_burst_credit() -> None:
    stage = BandwidthStage(10)
    stage.data(b"a" * 500, T0, T0)
    [e] = stage.data(b"b" * 500, T0 + 5, T0 + 5)
    assert e.at == pytest.approx(T0 + 5.050)


def test_bandwidth_big_chunk_goes_in_rate_times_100_slices_every_100ms() -> None:
    stage = BandwidthStage(1)  # slices of 100 bytes
    out = emits(stage.data(b"z" * 250, T0, T0))
    assert [len(e.data) for e in out] == [100, 100, 50]
    assert [round(e.at - T0, 3) for e in out] == [0.1, 0.2, 0.25]
    assert b"".join(e.data for e in out) == b"z" * 250


def test_bandwidth_rate_zero_holds_until_interrupted() -> None:
    [e] = BandwidthStage(0).data(b"held", T0, T0)
    assert e.at == math.inf and e.data == b"held"


# -- slow_close, timeout, reset_peer ---------------------------------------------------


def test_slow_close_passes_data_and_postpones_the_end() -> None:
    stage = SlowCloseStage(300)
    assert stage.data(b"d", T0, T0) == [Emit(b"d", T0, T0)]
    assert stage.eof(T0 + 1) == [CloseLink(T0 + 1.3)]


def test_timeout_arms_at_start_and_rearms_after_each_dropped_chunk() -> None:
    stage = TimeoutStage(300)
    assert stage.start(T0) == [CloseLink(T0 + 0.3)]
    assert stage.data(b"lost", T0, T0 + 0.2) == [CloseLink(T0 + 0.5)]  # nothing emitted


def test_timeout_zero_never_closes_but_eof_closes_at_once() -> None:
    stage = TimeoutStage(0)
    assert stage.start(T0) == [] and stage.data(b"x", T0, T0) == []
    assert stage.eof(T0 + 2) == [CloseLink(T0 + 2)]


def test_reset_peer_fires_once_on_first_input_and_drops_data() -> None:
    stage = ResetPeerStage(200)
    assert stage.data(b"x", T0, T0) == [CloseLink(T0 + 0.2)]
    assert stage.data(b"y", T0, T0 + 0.1) == []
    assert stage.eof(T0 + 0.1) == []


def test_reset_peer_eof_counts_as_first_input() -> None:
    assert ResetPeerStage(50).eof(T0) == [CloseLink(T0 + 0.05)]


# -- slicer -----------------------------------------------------------------------------


def test_slicer_pieces_reassemble_within_size_bounds_and_are_spaced_by_delay() -> None:
    stage = SlicerStage(100, 20, 10_000, random.Random(3))
    data = bytes(range(256)) * 8  # 2048 bytes
    out = emits(stage.data(data, T0, T0))
    assert b"".join(e.data for e in out) == data
    assert all(0 < len(e.data) <= 120 for e in out)
    assert len(out) >= 5
    assert [round(e.at - T0, 6) for e in out] == [round(i * 0.01, 6) for i in range(len(out))]


def test_slicer_is_reproducible_with_the_same_rng_seed() -> None:
    data = b"q" * 5000

    def sizes(seed: int) -> list[int]:
        stage = SlicerStage(50, 30, 0, random.Random(seed))
        return [len(e.data) for e in emits(stage.data(data, T0, T0))]

    assert sizes(11) == sizes(11)
    assert sizes(11) != sizes(12)


def test_slicer_next_chunk_waits_for_previous_pieces() -> None:
    stage = SlicerStage(10, 0, 1000, random.Random(1))
    first = emits(stage.data(b"a" * 40, T0, T0))
    second = emits(stage.data(b"b" * 10, T0, T0))
    assert second[0].at == pytest.approx(T0 + len(first) * 0.001)


# -- limit_data -------------------------------------------------------------------------


def test_limit_data_truncates_the_crossing_chunk_then_closes() -> None:
    stage = LimitDataStage(1000, {})
    assert emits(stage.data(b"a" * 600, T0, T0))[0].data == b"a" * 600
    out = stage.data(b"b" * 600, T0, T0)
    assert out == [Emit(b"b" * 400, T0, T0), CloseLink(T0)]


def test_limit_data_zero_closes_on_first_chunk_forwarding_nothing() -> None:
    assert LimitDataStage(0, {}).data(b"x", T0, T0) == [CloseLink(T0)]


def test_limit_data_counter_survives_a_rebuilt_stage() -> None:
    state: dict = {}
    LimitDataStage(100, state).data(b"a" * 60, T0, T0)
    rebuilt = LimitDataStage(100, state)  # an update rebuilds the stage with the same state
    assert rebuilt.data(b"b" * 60, T0, T0) == [Emit(b"b" * 40, T0, T0), CloseLink(T0)]


# -- validation and registry ------------------------------------------------------------


@pytest.mark.parametrize("bad", [100.0, 1e2, "100", True, None.__class__, [1], 2**63])
def test_builtin_integer_attributes_reject_non_integers(bad: object) -> None:
    kind = lookup("latency")
    assert kind is not None
    if bad is None.__class__:
        bad = {"x": 1}
    with pytest.raises(InvalidAttributes, match="'latency' must be a JSON integer"):
        kind.validate({"latency": bad})


def test_builtin_validation_fills_zero_defaults_and_ignores_unknown_keys() -> None:
    kind = lookup("latency")
    assert kind is not None
    assert kind.validate({"jitter": 5, "bogus": "x"}) == {"latency": 0, "jitter": 5}


def test_every_builtin_type_has_its_full_attribute_set() -> None:
    expected = {
        "noop": {},
        "latency": {"latency": 0, "jitter": 0},
        "bandwidth": {"rate": 0},
        "slow_close": {"delay": 0},
        "timeout": {"timeout": 0},
        "reset_peer": {"timeout": 0},
        "limit_data": {"bytes": 0},
    }
    for name, attrs in expected.items():
        kind = lookup(name)
        assert kind is not None and kind.validate({}) == attrs, name
    slicer = lookup("slicer")
    assert slicer is not None
    assert slicer.validate({"average_size": 10}) == {
        "average_size": 10,
        "size_variation": 0,
        "delay": 0,
    }


@pytest.mark.parametrize(
    ("type_name", "attributes", "message"),
    [
        ("bandwidth", {"rate": -1}, "'rate' must be >= 0"),
        ("slicer", {}, "'average_size' must be > 0"),
        ("slicer", {"average_size": 10, "size_variation": 10}, "'size_variation'"),
        ("slicer", {"average_size": 10, "size_variation": -1}, "'size_variation'"),
        ("limit_data", {"bytes": -5}, "'bytes' must be >= 0"),
    ],
)
def test_values_that_crash_toxiproxy_are_rejected(
    type_name: str, attributes: dict, message: str
) -> None:
    kind = lookup(type_name)
    assert kind is not None
    with pytest.raises(InvalidAttributes, match=message):
        kind.validate(attributes)


def test_registry_lists_the_eight_toxiproxy_types_and_no_packet_loss() -> None:
    names = set(kinds())
    assert {
        "noop",
        "latency",
        "bandwidth",
        "slow_close",
        "timeout",
        "reset_peer",
        "slicer",
        "limit_data",
    } <= names
    assert "packet_loss" not in names
    assert all(n.startswith("x-") for n in names if "-" in n)


def test_register_refuses_a_second_kind_with_a_taken_name() -> None:
    existing = lookup("latency")
    assert existing is not None
    clone = ToxicKind("latency", existing.validate, existing.factory)
    with pytest.raises(ValueError, match="already registered"):
        register(clone)


def test_kind_flags_match_toxiproxy_semantics() -> None:
    timeout, reset, latency = lookup("timeout"), lookup("reset_peer"), lookup("latency")
    assert timeout is not None and timeout.closes_on_removal
    assert reset is not None and reset.arms_reset
    assert latency is not None and latency.pipelined and not latency.needs_ws_tracker
