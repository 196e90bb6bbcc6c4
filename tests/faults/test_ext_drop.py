"""x-ws-drop and x-ws-drop-type as pure stages, fed real WebSocket streams (X02, X03, X06, X07)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from websockets.frames import Opcode

from tests.faults.test_ext_streams import (
    Driver,
    WsPair,
    bytewise,
    chunks,
    messages,
    texts,
)
from wsquake.faults.toxics import ws_drop, ws_drop_type
from wsquake.faults.wsframes import WsTracker

SIDES = {"upstream": "client", "downstream": "server"}


def drop_stage(stream: str, seed: int = 1, state: dict[str, Any] | None = None,
               **attributes: Any) -> ws_drop.WsDropStage:
    return ws_drop.factory(
        attributes, random.Random(seed), stream=stream, state={} if state is None else state
    )


def drop_type_stage(stream: str, seed: int = 1, state: dict[str, Any] | None = None,
                    **attributes: Any) -> ws_drop_type.WsDropTypeStage:
    return ws_drop_type.factory(
        attributes, random.Random(seed), stream=stream, state={} if state is None else state
    )


def received(pair: WsPair, stream: str, data: bytes) -> list[Any]:
    return pair.server_receives(data) if stream == "upstream" else pair.client_receives(data)


# -- x-ws-drop ------------------------------------------------------------------------


@pytest.mark.parametrize("stream", ["upstream", "downstream"])
def test_every_2_keeps_odd_messages_and_all_pings(stream: str) -> None:
    side = SIDES[stream]
    pair = WsPair()
    for i in range(1, 9):
        pair.text(side, f"msg {i}")
        pair.ping(side, f"p{i}".encode())
    driver = Driver(drop_stage(stream, every=2))
    driver.feed_all(chunks(bytes(pair.up if side == "client" else pair.down), random.Random(2)))
    frames = received(pair, stream, driver.output)
    assert texts(frames) == ["msg 1", "msg 3", "msg 5", "msg 7"]
    assert [f.data for f in frames if f.opcode is Opcode.PING] == [
        f"p{i}".encode() for i in range(1, 9)
    ]


def _sixty(seed: int) -> list[str]:
    pair = WsPair()
    for i in range(60):
        pair.text("server", str(i))
    driver = Driver(drop_stage("downstream", seed=seed, probability=0.5))
    driver.feed_all(chunks(bytes(pair.down), random.Random(4), max_size=13))
    return texts(pair.client_receives(driver.output))


def test_probability_half_drops_within_bounds_and_reproduces_with_the_seed() -> None:
    first = _sixty(seed=123)
    assert 12 <= 60 - len(first) <= 48
    assert _sixty(seed=123) == first
    assert _sixty(seed=124) != first


def test_probability_zero_keeps_everything_byte_identical() -> None:
    pair = WsPair()
    for i in range(10):
        pair.binary("client", bytes([i]) * 200)
    driver = Driver(drop_stage("upstream", probability=0.0))
    driver.feed_all(bytewise(bytes(pair.up)))
    assert driver.output == bytes(pair.up)


def test_kind_text_counts_and_drops_only_text_messages() -> None:
    pair = WsPair()
    for i in range(1, 5):
        pair.text("server", f"t{i}")
        pair.binary("server", bytes([i]))
    driver = Driver(drop_stage("downstream", every=2, kind="text"))
    driver.feed(bytes(pair.down))
    got = messages(pair.client_receives(driver.output))
    assert got == [
        (Opcode.TEXT, b"t1"), (Opcode.BINARY, b"\x01"), (Opcode.BINARY, b"\x02"),
        (Opcode.TEXT, b"t3"), (Opcode.BINARY, b"\x03"), (Opcode.BINARY, b"\x04"),
    ]


def test_fragmented_message_is_dropped_whole_but_ping_between_fragments_passes() -> None:
    pair = WsPair()
    pair.text("client", "keep")
    pair.text("client", "drop-a ", fin=False)
    pair.ping("client", b"mid")
    pair.cont("client", b"drop-b", fin=True)
    pair.text("client", "keep too")
    driver = Driver(drop_stage("upstream", every=2))
    driver.feed_all(bytewise(bytes(pair.up)))
    frames = pair.server_receives(driver.output)
    assert [(f.opcode, f.data) for f in frames] == [
        (Opcode.TEXT, b"keep"), (Opcode.PING, b"mid"), (Opcode.TEXT, b"keep too"),
    ]


def test_control_frames_are_never_dropped() -> None:
    pair = WsPair()
    pair.text("server", "a")
    pair.ping("server", b"1")
    pair.pong("server", b"2")
    pair.binary("server", b"b")
    pair.close("server", 1001, "going")
    driver = Driver(drop_stage("downstream"))  # probability 1, kind any: every message
    driver.feed(bytes(pair.down))
    frames = pair.client_receives(driver.output)
    assert [f.opcode for f in frames] == [Opcode.PING, Opcode.PONG, Opcode.CLOSE]


def test_drop_decision_is_made_at_the_first_header_and_frames_stream_through() -> None:
    pair = WsPair()
    pair.binary("server", b"x" * 1000)
    data = bytes(pair.down)
    driver = Driver(drop_stage("downstream", probability=0.0))
    cut = len(pair.down_handshake) + 4 + 100  # header plus 100 payload bytes
    driver.feed(data[:cut])
    assert driver.output == data[:cut]  # nothing held back


def test_counters_survive_a_restart_of_the_stage() -> None:
    pair = WsPair()
    for i in range(1, 7):
        pair.text("server", f"m{i}")
    data = bytes(pair.down)
    state: dict[str, Any] = {}
    driver = Driver(drop_stage("downstream", state=state, every=3))
    half = data.index(b"m4") - 2  # just before message 4's header
    driver.feed(data[:half])
    driver.flush()
    # An update restarts the stage: a new one is built from the same state dict.
    driver.stage = drop_stage("downstream", state=state, every=3)
    driver.feed(data[half:])
    assert texts(pair.client_receives(driver.output)) == ["m1", "m2", "m4", "m5"]


def test_live_add_after_a_fragmented_message_and_a_ping_stays_frame_aligned() -> None:
    """X06: the stage starts from a copy of the link's output tracker mid-message."""
    pair = WsPair()
    pair.text("client", "first part, ", fin=False)
    pair.ping("client", b"hb")
    cut = len(pair.up)  # the toxic is added here, inside the fragmented message
    pair.cont("client", b"second part", fin=True)
    pair.ping("client", b"hb2")
    pair.text("client", "dropped")
    pair.text("client", "kept")
    data = bytes(pair.up)
    passive = WsTracker("upstream")
    passive.feed(data[:cut])
    stage = drop_stage("upstream", state={"ws_tracker": passive.copy()}, every=1, kind="text")
    driver = Driver(stage)
    driver.feed_all(chunks(data[cut:], random.Random(9), max_size=5))
    frames = pair.server_receives(data[:cut] + driver.output)
    assert texts(frames) == ["first part, second part"]
    assert [f.data for f in frames if f.opcode is Opcode.PING] == [b"hb", b"hb2"]


def test_plain_http_passes_byte_identical() -> None:
    exchange = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)) * 4
    driver = Driver(drop_stage("upstream"))
    driver.feed_all(chunks(exchange, random.Random(1)))
    assert driver.output == exchange


def test_eof_inside_a_partial_header_forwards_the_held_bytes() -> None:
    pair = WsPair()
    pair.binary("server", b"y" * 300)
    data = bytes(pair.down)
    driver = Driver(drop_stage("downstream", probability=0.0))
    cut = len(pair.down_handshake) + 3  # 3 of the 4 header bytes
    driver.feed(data[:cut])
    assert driver.output == data[: cut - 3]
    driver.eof()
    assert driver.output == data[:cut]


# -- x-ws-drop-type -------------------------------------------------------------------


def _audio_session(side: str) -> tuple[WsPair, bytes]:
    pair = WsPair()
    pair.json(side, type="audio_chunk", seq=1)
    pair.json(side, type="transcription", text="hi")
    pair.json(side, type="audio_end")
    pair.binary(side, b'{"type":"audio_chunk"}')  # binary: never inspected
    pair.json(side, type="AUDIO_x")  # case matters
    pair.text(side, "not json")
    pair.json(side, kind="audio_chunk")  # field absent
    pair.json(side, type=7)  # not a string
    return pair, bytes(pair.up if side == "client" else pair.down)


@pytest.mark.parametrize("stream", ["upstream", "downstream"])
def test_drop_type_removes_matches_and_keeps_the_rest_intact(stream: str) -> None:
    """X03 on masked upstream and unmasked downstream frames, one byte at a time."""
    pair, data = _audio_session(SIDES[stream])
    driver = Driver(drop_type_stage(stream, pattern="audio_.*"))
    driver.feed_all(bytewise(data))
    got = messages(received(pair, stream, driver.output))
    assert got == [
        (Opcode.TEXT, b'{"type": "transcription", "text": "hi"}'),
        (Opcode.BINARY, b'{"type":"audio_chunk"}'),
        (Opcode.TEXT, b'{"type": "AUDIO_x"}'),
        (Opcode.TEXT, b"not json"),
        (Opcode.TEXT, b'{"kind": "audio_chunk"}'),
        (Opcode.TEXT, b'{"type": 7}'),
    ]


def test_drop_type_matches_a_dotted_field() -> None:
    pair = WsPair()
    pair.json("server", type="data_stream", data={"type": "audio_chunk"})
    pair.json("server", type="data_stream", data={"type": "button_press"})
    driver = Driver(drop_type_stage("downstream", pattern="audio_.*", field="data.type"))
    driver.feed(bytes(pair.down))
    assert len(texts(pair.client_receives(driver.output))) == 1
    assert "button_press" in texts(pair.client_receives(driver.output))[0]


def test_held_fragmented_text_is_released_after_its_last_fragment_ping_first() -> None:
    pair = WsPair()
    pair.text("server", '{"type": "trans', fin=False)
    pair.ping("server", b"!")
    before_last = len(pair.down)
    pair.cont("server", b'cription"}', fin=True)
    data = bytes(pair.down)
    driver = Driver(drop_type_stage("downstream", pattern="audio_.*"))
    driver.feed(data[:before_last])
    held_view = pair.client_receives(driver.output)
    assert [f.opcode for f in held_view] == [Opcode.PING]  # message held, ping went ahead
    driver.feed(data[before_last:])
    frames = pair.client_receives(driver.output)
    assert [f.opcode for f in frames] == [Opcode.PING, Opcode.TEXT, Opcode.CONT]
    assert texts(frames) == ['{"type": "transcription"}']


def test_compressed_messages_never_match() -> None:
    pair = WsPair(compression=True)
    pair.json("server", type="audio_chunk")
    data = bytes(pair.down)
    driver = Driver(drop_type_stage("downstream", pattern=".*"))
    driver.feed_all(bytewise(data))
    assert driver.output == data


def test_binary_messages_stream_through_without_being_held() -> None:
    pair = WsPair()
    pair.binary("client", b"b" * 500)
    data = bytes(pair.up)
    driver = Driver(drop_type_stage("upstream", pattern=".*"))
    cut = len(pair.up_handshake) + 8 + 10  # header (16-bit length, mask) + 10 bytes
    driver.feed(data[:cut])
    assert driver.output == data[:cut]


def test_text_longer_than_max_bytes_passes_uninspected() -> None:
    pair = WsPair()
    pair.text("server", '{"type": "audio_chunk", "pad": "' + "p" * 100 + '"}', fin=False)
    pair.cont("server", b"", fin=True)
    pair.json("server", type="audio_chunk")
    driver = Driver(drop_type_stage("downstream", pattern="audio_.*", max_bytes=64))
    driver.feed(bytes(pair.down))
    got = texts(pair.client_receives(driver.output))
    assert len(got) == 1 and got[0].startswith('{"type": "audio_chunk", "pad"')


def test_fragments_overflowing_max_bytes_are_released_and_pass() -> None:
    pair = WsPair()
    pair.text("server", '{"type": "audio_chunk", ', fin=False)
    pair.cont("server", b'"pad": "' + b"p" * 60, fin=False)
    pair.cont("server", b'"}', fin=True)
    driver = Driver(drop_type_stage("downstream", pattern="audio_.*", max_bytes=40))
    driver.feed(bytes(pair.down))
    assert len(texts(pair.client_receives(driver.output))) == 1


def test_drop_type_probability_applies_to_matches_only() -> None:
    pair = WsPair()
    for i in range(80):
        pair.json("server", type="audio_chunk" if i % 2 else "keep", i=i)
    driver = Driver(drop_type_stage("downstream", seed=5, pattern="audio_.*", probability=0.5))
    driver.feed(bytes(pair.down))
    got = texts(pair.client_receives(driver.output))
    kept = [t for t in got if '"keep"' in t]
    audio = [t for t in got if "audio_chunk" in t]
    assert len(kept) == 40
    assert 5 <= len(audio) <= 35  # 40 draws at 0.5, >= 4.7 sigma margins


def test_removal_flush_releases_a_held_message_and_a_partial_header() -> None:
    pair = WsPair()
    pair.text("server", '{"type": "audio_', fin=False)
    pair.cont("server", b'chunk"}', fin=True)
    data = bytes(pair.down)
    stage = drop_type_stage("downstream", pattern="audio_.*")
    driver = Driver(stage)
    cut = data.index(b'chunk"}') - 1  # inside the continuation frame's header
    driver.feed(data[:cut])
    driver.flush()
    assert driver.output == data[:cut]  # all handed over, nothing lost or reordered


def test_update_after_flush_keeps_the_stream_aligned() -> None:
    pair = WsPair()
    pair.text("server", '{"type": "audio_', fin=False)
    pair.cont("server", b'chunk"}', fin=True)
    pair.json("server", type="audio_chunk")
    pair.json("server", type="other")
    data = bytes(pair.down)
    state: dict[str, Any] = {}
    driver = Driver(drop_type_stage("downstream", state=state, pattern="audio_.*"))
    cut = data.index(b'chunk"}') - 1
    driver.feed(data[:cut])
    driver.flush()
    driver.stage = drop_type_stage("downstream", state=state, pattern="audio_.*")
    driver.feed(data[cut:])
    # The interrupted message went through whole; the next match is dropped again.
    assert texts(pair.client_receives(driver.output)) == [
        '{"type": "audio_chunk"}',
        '{"type": "other"}',
    ]


def test_message_whose_header_was_flushed_early_is_forwarded_whole() -> None:
    pair = WsPair()
    pair.json("server", type="other")
    start = len(pair.down)
    pair.json("server", type="audio_chunk")
    data = bytes(pair.down)
    state: dict[str, Any] = {}
    driver = Driver(drop_type_stage("downstream", state=state, pattern="audio_.*"))
    driver.feed(data[: start + 1])  # one byte of the matching message's header
    driver.flush()  # the restart hands that byte on
    driver.stage = drop_type_stage("downstream", state=state, pattern="audio_.*")
    driver.feed(data[start + 1 :])
    # Half a header is already out, so the message can no longer be dropped.
    assert driver.output == data


def test_live_add_inside_a_frame_header_neither_duplicates_nor_drops_it() -> None:
    """The link already wrote the first header bytes; the new stage must not repeat them
    and cannot drop that message any more (half its header is out)."""
    pair = WsPair()
    pair.text("server", "before")
    cut = len(pair.down) + 1  # one byte into the next frame header
    pair.text("server", "straddles")
    pair.text("server", "after")
    data = bytes(pair.down)
    passive = WsTracker("downstream")
    passive.feed(data[:cut])
    driver = Driver(drop_stage("downstream", state={"ws_tracker": passive.copy()}, every=1))
    driver.feed_all(bytewise(data[cut:]))
    assert texts(pair.client_receives(data[:cut] + driver.output)) == ["before", "straddles"]


def test_held_message_goes_first_when_the_framing_breaks() -> None:
    pair = WsPair()
    pair.text("server", '{"type": "audio_', fin=False)
    data = bytes(pair.down) + b"\x83\x00garbage"  # reserved opcode: passthrough from here
    driver = Driver(drop_type_stage("downstream", pattern="audio_.*"))
    driver.feed_all(bytewise(data))
    assert driver.output == data
