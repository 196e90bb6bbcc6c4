"""x-ws-close as a pure stage on a synthetic clock (X05).

Timeline unit: seconds of the injected clock; nothing here sleeps.
"""

from __future__ import annotations

import random
from typing import Any

from websockets.frames import Close, Opcode

from tests.faults.test_ext_streams import Driver, WsPair, bytewise, texts
from wsquake.faults.toxics import ws_close
from wsquake.faults.wsframes import WsTracker


def close_stage(stream: str = "downstream", seed: int = 1, state: dict[str, Any] | None = None,
                **attributes: Any) -> ws_close.WsCloseStage:
    return ws_close.factory(
        attributes, random.Random(seed), stream=stream, state={} if state is None else state
    )


def test_closes_after_three_messages_with_code_and_reason() -> None:
    pair = WsPair()
    for i in range(1, 6):
        pair.text("server", f"echo {i}")
    driver = Driver(close_stage(code=4001, reason="chaos", after_messages=3), now=0.0)
    driver.feed(bytes(pair.down), now=0.5)
    frames = pair.client_receives(driver.output)
    assert texts(frames) == ["echo 1", "echo 2", "echo 3"]
    assert frames[-1].opcode is Opcode.CLOSE
    assert Close.parse(frames[-1].data) == Close(4001, "chaos")
    assert driver.closes == [1.5]  # tcp_close_after defaults to 1000 ms


def test_fires_right_after_the_nth_message_even_if_nothing_follows() -> None:
    pair = WsPair()
    driver = Driver(close_stage(after_messages=2, tcp_close_after=0), now=0.0)
    driver.feed(pair.down_handshake)
    driver.feed(pair.text("server", "1"))
    assert driver.closes == []
    driver.feed(pair.text("server", "2"))
    assert driver.closes == [0.0]
    assert pair.client_receives(driver.output)[-1].opcode is Opcode.CLOSE


def test_everything_from_the_source_after_the_close_is_discarded() -> None:
    pair = WsPair()
    driver = Driver(close_stage(after_messages=1))
    driver.feed(pair.down_handshake)
    driver.feed(pair.text("server", "one") + pair.text("server", "two")[:3])
    before = driver.output
    driver.feed(pair.text("server", "two")[3:] + pair.ping("server") + pair.text("server", "3"))
    assert driver.output == before
    assert [f.opcode for f in pair.client_receives(before)] == [Opcode.TEXT, Opcode.CLOSE]


def test_upstream_close_frame_is_masked_and_parses() -> None:
    pair = WsPair()
    pair.text("client", "hello")
    driver = Driver(close_stage("upstream", code=1001, reason="bye", after_messages=1))
    driver.feed_all(bytewise(bytes(pair.up)))
    frames = pair.server_receives(driver.output)  # the parser insists on masking
    assert [f.opcode for f in frames] == [Opcode.TEXT, Opcode.CLOSE]
    assert Close.parse(frames[1].data) == Close(1001, "bye")


def test_code_zero_sends_no_frame_and_closes_at_once() -> None:
    pair = WsPair()
    driver = Driver(close_stage(code=0, after_messages=1, tcp_close_after=5000), now=0.0)
    driver.feed(bytes(pair.down) + pair.text("server", "only"), now=0.25)
    frames = pair.client_receives(driver.output)
    assert [f.opcode for f in frames] == [Opcode.TEXT]
    assert driver.closes == [0.25]


def test_both_zero_fires_as_soon_as_framing_starts() -> None:
    pair = WsPair()
    pair.text("server", "too late")
    driver = Driver(close_stage(), now=0.0)
    assert driver.closes == []  # still in the HTTP phase: nothing to close yet
    driver.feed(bytes(pair.down))  # the 101 and a frame in one chunk
    frames = pair.client_receives(driver.output)
    assert [f.opcode for f in frames] == [Opcode.CLOSE]


def test_after_ms_fires_by_timer_on_an_idle_link() -> None:
    pair = WsPair()
    driver = Driver(close_stage(after_ms=300, tcp_close_after=100), now=10.0)
    driver.feed(pair.down_handshake)
    assert driver.stage.deadline() == 10.3
    driver.advance(10.299)
    assert driver.closes == []
    driver.advance(10.3)
    assert driver.closes == [10.4]
    assert [f.opcode for f in pair.client_receives(driver.output)] == [Opcode.CLOSE]
    assert driver.stage.deadline() is None


def test_after_ms_waits_for_a_message_boundary() -> None:
    pair = WsPair()
    driver = Driver(close_stage(after_ms=100), now=0.0)
    driver.feed(pair.down_handshake)
    driver.feed(pair.text("server", "part", fin=False), now=0.05)
    driver.advance(0.5)
    assert driver.closes == []  # inside a fragmented message: not a boundary
    driver.feed(pair.ping("server", b"x"), now=0.6)
    assert driver.closes == []  # a ping between fragments is not a boundary either
    driver.feed(pair.cont("server", b" end", fin=True), now=0.7)
    assert driver.closes == [1.7]
    frames = pair.client_receives(driver.output)
    assert [f.opcode for f in frames] == [Opcode.TEXT, Opcode.PING, Opcode.CONT, Opcode.CLOSE]


def test_plain_http_link_is_never_closed() -> None:
    driver = Driver(close_stage(), now=0.0)
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    driver.feed(data)
    driver.advance(100.0)
    assert driver.output == data
    assert driver.closes == []


def test_fires_once_per_link_even_after_an_update() -> None:
    pair = WsPair()
    state: dict[str, Any] = {}
    driver = Driver(close_stage(state=state, after_messages=1), now=0.0)
    driver.feed(pair.down_handshake + pair.text("server", "a"))
    assert len(driver.closes) == 1
    driver.stage = close_stage(state=state, after_messages=1)
    driver.advance(1.0)
    driver.feed(pair.text("server", "b"))
    assert len(driver.closes) == 1
    assert texts(pair.client_receives(driver.output)) == ["a"]


def test_message_count_survives_an_update() -> None:
    pair = WsPair()
    state: dict[str, Any] = {}
    driver = Driver(close_stage(state=state, after_messages=3), now=0.0)
    driver.feed(pair.down_handshake + pair.text("server", "1") + pair.text("server", "2"))
    driver.stage = close_stage(state=state, after_messages=3)
    driver.feed(pair.text("server", "3"))
    assert len(driver.closes) == 1


def test_live_add_mid_message_waits_for_the_message_to_end() -> None:
    pair = WsPair()
    pair.text("server", "long ", fin=False)
    cut = len(pair.down)
    pair.cont("server", b"message", fin=True)
    data = bytes(pair.down)
    passive = WsTracker("downstream")
    passive.feed(data[:cut])
    driver = Driver(close_stage(state={"ws_tracker": passive.copy()}), now=0.0)
    assert driver.closes == []
    driver.feed(data[cut:])
    frames = pair.client_receives(data[:cut] + driver.output)
    assert [f.opcode for f in frames] == [Opcode.TEXT, Opcode.CONT, Opcode.CLOSE]


def test_restart_after_firing_arms_the_tcp_close_again() -> None:
    pair = WsPair()
    state: dict[str, Any] = {}
    driver = Driver(close_stage(state=state, after_messages=1, tcp_close_after=2000), now=0.0)
    driver.feed(pair.down_handshake + pair.text("server", "a"), now=1.0)
    assert driver.closes == [3.0]
    # The pump cancels pending closes on a restart; the new stage re-arms the same one.
    driver.stage = close_stage(state=state, after_messages=1, tcp_close_after=2000)
    driver.closes.clear()
    driver._take(driver.stage.start(1.5))
    assert driver.closes == [3.0]


def test_live_add_inside_a_frame_header_waits_for_that_frame() -> None:
    pair = WsPair()
    pair.text("server", "before")
    cut = len(pair.down) + 1  # one byte of the next header is already out
    pair.text("server", "straddles")
    data = bytes(pair.down)
    passive = WsTracker("downstream")
    passive.feed(data[:cut])
    driver = Driver(close_stage(state={"ws_tracker": passive.copy()}), now=0.0)
    assert driver.closes == []  # not at a boundary: a header is half out
    driver.feed(data[cut:])
    frames = pair.client_receives(data[:cut] + driver.output)
    assert [f.opcode for f in frames] == [Opcode.TEXT, Opcode.TEXT, Opcode.CLOSE]
