"""x-ws-delay as a pure stage on a synthetic clock (X04).

Timeline unit: seconds of the injected clock; nothing here sleeps.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from websockets.frames import Opcode

from tests.faults.test_ext_streams import Driver, WsPair, bytewise, parse_frames, texts
from wsquake.faults.toxics import ws_delay


def delay_stage(stream: str = "downstream", seed: int = 1, state: dict[str, Any] | None = None,
                **attributes: Any) -> ws_delay.WsDelayStage:
    return ws_delay.factory(
        attributes, random.Random(seed), stream=stream, state={} if state is None else state
    )


def timeline(driver: Driver, pair: WsPair) -> list[tuple[float, Opcode, bytes]]:
    """(leave time, opcode, payload) of every frame the stage sent, handshake skipped."""
    out: list[tuple[float, Opcode, bytes]] = []
    skip = len(pair.down_handshake)
    for at, data, _ in driver.sent:
        if skip:
            assert len(data) >= skip
            data, skip = data[skip:], 0
        out.extend((at, f.opcode, f.data) for f in parse_frames(data, mask=False))
    return out


def test_each_message_leaves_latency_after_its_last_byte_in_order_and_pings_at_once() -> None:
    pair = WsPair()
    driver = Driver(delay_stage(latency=200))
    driver.feed(pair.down_handshake, now=0.0)
    # t=0.00 m1 · t=0.05 m2 · t=0.06 ping · t=0.10 m3
    driver.feed(pair.text("server", "m1"), now=0.0)
    driver.feed(pair.text("server", "m2"), now=0.05)
    driver.feed(pair.ping("server", b"hb"), now=0.06)
    driver.feed(pair.text("server", "m3"), now=0.10)
    driver.advance(1.0)
    got = [(round(at, 6), op, data) for at, op, data in timeline(driver, pair)]
    assert got == [
        (0.06, Opcode.PING, b"hb"),
        (0.2, Opcode.TEXT, b"m1"),
        (0.25, Opcode.TEXT, b"m2"),
        (0.3, Opcode.TEXT, b"m3"),
    ]


def test_fragmented_message_is_timed_from_its_last_fragment() -> None:
    pair = WsPair()
    driver = Driver(delay_stage(latency=100))
    driver.feed(pair.down_handshake, now=0.0)
    driver.feed(pair.text("server", "a", fin=False), now=0.0)
    driver.feed(pair.cont("server", b"b", fin=True), now=0.5)
    driver.advance(0.59)
    assert timeline(driver, pair) == []
    driver.advance(0.6)
    assert [round(at, 6) for at, _, _ in timeline(driver, pair)] == [0.6, 0.6]


def test_delays_pipeline_instead_of_adding_up() -> None:
    pair = WsPair()
    driver = Driver(delay_stage(latency=300))
    driver.feed(pair.down_handshake, now=0.0)
    for i in range(10):
        driver.feed(pair.text("server", f"m{i}"), now=i * 0.02)
    driver.advance(5.0)
    times = [at for at, _, _ in timeline(driver, pair)]
    assert len(times) == 10
    assert times[-1] == pytest.approx(0.18 + 0.3)


def test_close_frame_waits_behind_delayed_data() -> None:
    pair = WsPair()
    driver = Driver(delay_stage(latency=200))
    driver.feed(pair.down_handshake, now=0.0)
    driver.feed(pair.text("server", "last words"), now=0.0)
    driver.feed(pair.close("server", 1000, "bye"), now=0.01)
    driver.advance(1.0)
    got = [(round(at, 6), op) for at, op, _ in timeline(driver, pair)]
    assert got == [(0.2, Opcode.TEXT), (0.2, Opcode.CLOSE)]


def test_close_frame_with_nothing_queued_passes_at_once() -> None:
    pair = WsPair()
    driver = Driver(delay_stage(latency=200))
    driver.feed(pair.down_handshake, now=0.0)
    driver.feed(pair.close("server"), now=0.01)
    assert [(at, op) for at, op, _ in timeline(driver, pair)] == [(0.01, Opcode.CLOSE)]


def test_jitter_stays_within_bounds_and_order_is_kept() -> None:
    pair = WsPair()
    driver = Driver(delay_stage(seed=3, latency=100, jitter=50))
    driver.feed(pair.down_handshake, now=0.0)
    arrivals = [i * 0.2 for i in range(40)]  # far enough apart that order never binds
    for i, t in enumerate(arrivals):
        driver.feed(pair.text("server", str(i)), now=t)
    driver.advance(100.0)
    got = timeline(driver, pair)
    assert [data for _, _, data in got] == [str(i).encode() for i in range(40)]
    delays = [at - t for (at, _, _), t in zip(got, arrivals, strict=True)]
    assert all(0.05 - 1e-9 <= d < 0.15 for d in delays)
    assert max(delays) - min(delays) > 0.02


def test_kind_binary_leaves_text_undelayed_when_nothing_is_queued() -> None:
    pair = WsPair()
    driver = Driver(delay_stage(latency=200, kind="binary"))
    driver.feed(pair.down_handshake, now=0.0)
    driver.feed(pair.text("server", "fast"), now=0.0)
    driver.feed(pair.binary("server", b"slow"), now=0.1)
    driver.feed(pair.text("server", "behind"), now=0.2)
    driver.advance(1.0)
    got = [(round(at, 6), data) for at, _, data in timeline(driver, pair)]
    assert got == [(0.0, b"fast"), (0.3, b"slow"), (0.3, b"behind")]


def test_pattern_delays_only_matches_and_others_queue_behind() -> None:
    pair = WsPair()
    driver = Driver(delay_stage(latency=200, pattern="audio_.*"))
    driver.feed(pair.down_handshake, now=0.0)
    driver.feed(pair.json("server", type="hello"), now=0.0)
    driver.feed(pair.json("server", type="audio_chunk"), now=0.1)
    driver.feed(pair.json("server", type="after"), now=0.15)
    driver.advance(1.0)
    got = [(round(at, 6), data) for at, _, data in timeline(driver, pair)]
    assert got == [
        (0.0, b'{"type": "hello"}'),
        (0.3, b'{"type": "audio_chunk"}'),
        (0.3, b'{"type": "after"}'),
    ]


def test_stamp_is_advanced_by_the_delay_so_stacked_toxics_add() -> None:
    pair = WsPair()
    driver = Driver(delay_stage(latency=200))
    driver.feed(pair.down_handshake, now=0.0)
    driver.feed(pair.text("server", "x"), now=1.0)
    driver.advance(2.0)
    _, data, stamp = driver.sent[-1]
    assert stamp == pytest.approx(1.2)


def test_masked_upstream_messages_are_delayed_byte_exact() -> None:
    pair = WsPair()
    driver = Driver(delay_stage("upstream", latency=50))
    for i in range(5):
        pair.text("client", f"u{i}")
    driver.feed_all(bytewise(bytes(pair.up)))
    driver.advance(10.0)
    assert driver.output == bytes(pair.up)
    assert texts(pair.server_receives(driver.output)) == [f"u{i}" for i in range(5)]


def test_eof_keeps_queued_release_times() -> None:
    pair = WsPair()
    driver = Driver(delay_stage(latency=200))
    driver.feed(pair.down_handshake, now=0.0)
    driver.feed(pair.text("server", "m"), now=0.0)
    driver.eof()
    assert [round(at, 6) for at, _, _ in timeline(driver, pair)] == [0.2]


def test_flush_releases_everything_at_once_in_order() -> None:
    pair = WsPair()
    driver = Driver(delay_stage(latency=1000))
    driver.feed(pair.down_handshake, now=0.0)
    for i in range(5):
        driver.feed(pair.text("server", str(i)), now=0.01 * i)
    driver.feed(pair.text("server", "partial", fin=False), now=0.05)
    driver.flush()
    got = timeline(driver, pair)
    assert all(at == 0.05 for at, _, _ in got)
    assert [data for _, _, data in got] == [b"0", b"1", b"2", b"3", b"4", b"partial"]
    assert driver.stage.deadline() is None


def test_latency_zero_streams_frames_without_holding() -> None:
    pair = WsPair()
    pair.binary("server", b"z" * 1000)
    data = bytes(pair.down)
    driver = Driver(delay_stage())
    driver.feed(data[:-10], now=0.0)
    assert driver.output == data[:-10]


def test_held_message_goes_first_when_the_framing_breaks() -> None:
    pair = WsPair()
    driver = Driver(delay_stage(latency=100))
    driver.feed(pair.down_handshake, now=0.0)
    driver.feed(pair.text("server", "partial", fin=False), now=0.0)
    driver.feed(b"\x83\x00garbage", now=0.01)  # reserved opcode: passthrough from here
    assert driver.output == bytes(pair.down) + b"\x83\x00garbage"
