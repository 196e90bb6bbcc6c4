"""The RFC 6455 byte-stream tracker, fed real streams from websockets in odd chunkings."""

from __future__ import annotations

import random
import struct
from collections.abc import Iterable

import pytest
from websockets.frames import Close

from tests.faults.test_ext_streams import WsPair, bytewise, chunks, parse_frames
from wsquake.faults.wsframes import (
    MAX_HTTP_HEADER,
    Direction,
    Opcode,
    Phase,
    Piece,
    PieceKind,
    WsTracker,
    build_close_frame,
    close_payload,
    encode_frame,
    unmask,
)


def feed_all(tracker: WsTracker, parts: Iterable[bytes]) -> list[Piece]:
    pieces: list[Piece] = []
    for part in parts:
        pieces.extend(tracker.feed(part))
    return pieces


def joined(pieces: list[Piece]) -> bytes:
    return b"".join(p.data for p in pieces)


def reassemble(pieces: list[Piece]) -> dict[int, tuple[Opcode | None, bytes]]:
    """Unmasked payload of every data message, keyed by message index."""
    out: dict[int, tuple[Opcode | None, bytes]] = {}
    for p in pieces:
        if p.kind is PieceKind.PAYLOAD and p.message:
            assert p.frame is not None
            op, data = out.get(p.message, (p.message_opcode, b""))
            out[p.message] = (op, data + unmask(p.data, p.frame.mask_key, p.offset))
        elif p.message_start:
            out.setdefault(p.message, (p.message_opcode, b""))
    return out


def rich_session(side: str) -> tuple[WsPair, bytes, list[tuple[Opcode, bytes]]]:
    """Text, binary, a fragmented text with a ping between fragments, 16- and 64-bit
    lengths, an empty message, a pong and a close, all sent by ``side``."""
    pair = WsPair()
    expected: list[tuple[Opcode, bytes]] = []
    rng = random.Random(7)
    pair.text(side, "hello")
    expected.append((Opcode.TEXT, b"hello"))
    blob = rng.randbytes(300)
    pair.binary(side, blob)
    expected.append((Opcode.BINARY, blob))
    pair.text(side, "frag-1 ", fin=False)
    pair.ping(side, b"p1")
    pair.cont(side, b"frag-2 ", fin=False)
    pair.cont(side, b"frag-3", fin=True)
    expected.append((Opcode.TEXT, b"frag-1 frag-2 frag-3"))
    big = rng.randbytes(70_000)
    pair.binary(side, big)
    expected.append((Opcode.BINARY, big))
    pair.text(side, "")
    expected.append((Opcode.TEXT, b""))
    pair.pong(side, b"p1")
    pair.close(side, 1000, "bye")
    data = bytes(pair.up if side == "client" else pair.down)
    return pair, data, expected


@pytest.mark.parametrize("side", ["client", "server"])
@pytest.mark.parametrize("chunking", ["whole", "random", "bytewise"])
def test_pieces_concatenate_to_the_input_byte_for_byte(side: str, chunking: str) -> None:
    pair, data, _ = rich_session(side)
    direction = Direction.UPSTREAM if side == "client" else Direction.DOWNSTREAM
    if chunking == "whole":
        parts: Iterable[bytes] = [data]
    elif chunking == "random":
        parts = chunks(data, random.Random(3), max_size=50)
    else:
        # 70 KB one byte at a time is slow; take the head of the stream bytewise.
        head = data[:2000]
        parts = [*bytewise(head), data[2000:]]
    tracker = WsTracker(direction)
    pieces = feed_all(tracker, parts)
    assert joined(pieces) == data
    assert tracker.phase is Phase.FRAMES
    assert tracker.pending == b""


@pytest.mark.parametrize("side", ["client", "server"])
def test_messages_reassemble_from_pieces_in_random_chunks(side: str) -> None:
    _, data, expected = rich_session(side)
    direction = Direction.UPSTREAM if side == "client" else Direction.DOWNSTREAM
    pieces = feed_all(WsTracker(direction), chunks(data, random.Random(11), max_size=7))
    got = reassemble(pieces)
    assert [got[i] for i in sorted(got)] == expected


def test_each_piece_lies_within_one_frame_and_headers_are_whole() -> None:
    pair, data, _ = rich_session("client")
    pieces = feed_all(WsTracker("upstream"), bytewise(data[:1500]))
    frames = [p for p in pieces if p.is_frame]
    headers = [p for p in frames if p.kind is PieceKind.HEADER]
    # Every header piece is exactly as long as the header it describes.
    assert all(p.frame is not None and len(p.data) == p.frame.size for p in headers)
    assert all(p.frame is not None and p.frame.masked for p in headers)
    # Payload offsets run contiguously within each frame.
    expected_offset = 0
    for p in frames:
        if p.kind is PieceKind.HEADER:
            expected_offset = 0
        else:
            assert p.offset == expected_offset
            expected_offset += len(p.data)


def test_pieces_carry_message_indices_and_types() -> None:
    pair = WsPair()
    pair.text("server", "a", fin=False)
    pair.ping("server", b"x")
    pair.cont("server", b"b", fin=True)
    pair.binary("server", b"\x01")
    data = bytes(pair.down)
    pieces = [p for p in WsTracker("downstream").feed(data) if p.is_frame]
    summary = [
        (p.kind.value, p.frame.opcode.name if p.frame else None, p.message,
         p.message_opcode.name if p.message_opcode else None, p.message_end)
        for p in pieces
    ]
    assert summary == [
        ("header", "TEXT", 1, "TEXT", False),
        ("payload", "TEXT", 1, "TEXT", False),
        ("header", "PING", 0, None, False),
        ("payload", "PING", 0, None, True),
        ("header", "CONT", 1, "TEXT", False),
        ("payload", "CONT", 1, "TEXT", True),
        ("header", "BINARY", 2, "BINARY", False),
        ("payload", "BINARY", 2, "BINARY", True),
    ]
    starts = [i for i, p in enumerate(pieces) if p.message_start]
    assert starts == [0, 6]


def test_16_and_64_bit_lengths_are_parsed() -> None:
    pair = WsPair()
    pair.binary("server", b"x" * 126)
    pair.binary("server", b"y" * 65_536)
    heads = [p.frame for p in WsTracker("downstream").feed(bytes(pair.down))
             if p.kind is PieceKind.HEADER]
    assert [(h.length, h.size) for h in heads if h] == [(126, 4), (65_536, 10)]


def test_partial_header_is_held_back_until_complete() -> None:
    pair = WsPair()
    pair.binary("client", b"z" * 200)  # masked, 16-bit length: 8-byte header
    tracker = WsTracker("upstream")
    assert joined(tracker.feed(pair.up_handshake)) == pair.up_handshake
    frame = bytes(pair.up[len(pair.up_handshake):])
    assert tracker.feed(frame[:5]) == []
    assert tracker.pending == frame[:5]
    pieces = tracker.feed(frame[5:9])
    assert [p.kind for p in pieces] == [PieceKind.HEADER, PieceKind.PAYLOAD]
    assert pieces[0].data == frame[:8]
    assert tracker.pending == b""


def test_compressed_message_is_flagged_on_every_piece() -> None:
    pair = WsPair(compression=True)
    pair.text("server", "squeeze me " * 10)
    pieces = [p for p in WsTracker("downstream").feed(bytes(pair.down)) if p.is_data]
    assert pieces and all(p.compressed for p in pieces)


# -- phases ---------------------------------------------------------------------------


def test_plain_http_request_goes_passthrough_unchanged() -> None:
    request = b"GET /api/sessions HTTP/1.1\r\nHost: x\r\n\r\n\x81\x05hello"
    tracker = WsTracker("upstream")
    pieces = feed_all(tracker, bytewise(request))
    assert joined(pieces) == request
    assert tracker.phase is Phase.PASSTHROUGH
    assert not any(p.is_frame for p in pieces)


def test_downstream_non_101_response_goes_passthrough() -> None:
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    tracker = WsTracker("downstream")
    assert joined(tracker.feed(response)) == response
    assert tracker.phase is Phase.PASSTHROUGH


def test_upgrade_header_is_matched_case_insensitively() -> None:
    request = b"GET / HTTP/1.1\r\nupgrade: WebSocket\r\n\r\n"
    tracker = WsTracker("upstream")
    tracker.feed(request)
    assert tracker.phase is Phase.FRAMES


def test_upgrade_to_another_protocol_is_not_websocket() -> None:
    tracker = WsTracker("upstream")
    tracker.feed(b"GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n")
    assert tracker.phase is Phase.PASSTHROUGH


def test_header_block_over_16_kib_goes_passthrough() -> None:
    request = (
        b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nX-Pad: "
        + b"a" * MAX_HTTP_HEADER
        + b"\r\n\r\n\x81\x00"
    )
    tracker = WsTracker("upstream")
    pieces = feed_all(tracker, chunks(request, random.Random(5), max_size=4096))
    assert joined(pieces) == request
    assert tracker.phase is Phase.PASSTHROUGH


def test_frames_right_after_the_blank_line_in_one_chunk_are_parsed() -> None:
    pair = WsPair()
    pair.text("server", "same chunk")
    tracker = WsTracker("downstream")
    pieces = tracker.feed(bytes(pair.down))
    assert pieces[0].kind is PieceKind.HTTP
    assert pieces[0].data == pair.down_handshake
    assert pieces[1].message_start


# -- invalid framing ------------------------------------------------------------------


def _after_handshake(frame_bytes: bytes) -> tuple[WsTracker, list[Piece], bytes]:
    pair = WsPair()
    pair.text("server", "ok")
    data = bytes(pair.down) + frame_bytes + encode_frame(Opcode.TEXT, b"later")
    tracker = WsTracker("downstream")
    pieces = feed_all(tracker, bytewise(data))
    return tracker, pieces, data


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(b"\x83\x00", id="reserved-opcode-3"),
        pytest.param(b"\x8b\x00", id="reserved-opcode-B"),
        pytest.param(b"\x09\x00", id="fragmented-ping"),
        pytest.param(b"\x89\x7e\x00\x7e" + b"p" * 126, id="control-over-125"),
        pytest.param(b"\x82\x7f" + struct.pack("!Q", 1 << 63), id="64-bit-top-bit"),
        pytest.param(b"\x80\x01x", id="continuation-outside-message"),
    ],
)
def test_invalid_framing_switches_to_passthrough_for_good(bad: bytes) -> None:
    tracker, pieces, data = _after_handshake(bad)
    assert joined(pieces) == data
    assert tracker.phase is Phase.PASSTHROUGH
    # The valid message before the bad frame was still recognised.
    assert [p.message for p in pieces if p.message_start] == [1]
    # Nothing after the bad header is parsed as a frame.
    first_pass = next(i for i, p in enumerate(pieces) if p.kind is PieceKind.PASSTHROUGH)
    assert not any(p.is_frame for p in pieces[first_pass:])


def test_new_data_frame_inside_a_fragmented_message_is_invalid() -> None:
    data = (
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n"
        + encode_frame(Opcode.TEXT, b"a", fin=False)
        + encode_frame(Opcode.TEXT, b"b")
    )
    tracker = WsTracker("downstream")
    assert joined(tracker.feed(data)) == data
    assert tracker.phase is Phase.PASSTHROUGH


def test_invalid_framing_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="wsquake.faults.wsframes")
    _after_handshake(b"\x83\x00" + b"\x84\x00" * 10)
    assert len([r for r in caplog.records if "invalid WebSocket framing" in r.message]) == 1


# -- copy (sync on live add) ----------------------------------------------------------


def test_copy_mid_message_continues_frame_aligned() -> None:
    pair = WsPair()
    pair.text("server", "part one, ", fin=False)
    cut = len(pair.down) - 3  # inside the first fragment's payload
    pair.ping("server", b"!")
    pair.cont("server", b"part two", fin=True)
    pair.text("server", "next")
    data = bytes(pair.down)
    passive = WsTracker("downstream")
    passive.feed(data[:cut])
    clone = passive.copy()
    rest_clone = feed_all(clone, bytewise(data[cut:]))
    rest_orig = passive.feed(data[cut:])
    assert joined(rest_clone) == data[cut:] == joined(rest_orig)
    assert rest_clone[0].kind is PieceKind.PAYLOAD and rest_clone[0].message == 1
    starts = [p.message for p in rest_clone if p.message_start]
    assert starts == [2]
    # The clone is independent: feeding it did not move the original.
    assert clone.bytes_seen == passive.bytes_seen == len(data)


def test_copy_does_not_share_state_with_the_original() -> None:
    tracker = WsTracker("downstream")
    tracker.feed(b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81")
    clone = tracker.copy()
    clone.feed(b"\x01a")
    assert tracker.pending == b"\x81"
    assert clone.pending == b""
    assert clone.messages == 1 and tracker.messages == 0


# -- helpers --------------------------------------------------------------------------


def test_unmask_handles_offsets_inside_a_payload() -> None:
    key = b"\x01\x02\x03\x04"
    payload = bytes(range(50))
    masked = encode_frame(Opcode.BINARY, payload, mask_key=key)[6:]
    assert unmask(masked, key) == payload
    assert unmask(masked[7:20], key, offset=7) == payload[7:20]
    assert unmask(b"abc", None) == b"abc"


@pytest.mark.parametrize("direction", [Direction.UPSTREAM, Direction.DOWNSTREAM])
def test_close_frame_is_masked_only_upstream(direction: Direction) -> None:
    frame = build_close_frame(4001, "chaos", direction, random.Random(1))
    masked = direction is Direction.UPSTREAM
    (parsed,) = parse_frames(frame, mask=masked)
    assert Close.parse(parsed.data) == Close(4001, "chaos")
    assert bool(frame[1] & 0x80) is masked


def test_close_frame_mask_key_comes_from_the_rng() -> None:
    a = build_close_frame(1000, "", Direction.UPSTREAM, random.Random(42))
    b = build_close_frame(1000, "", Direction.UPSTREAM, random.Random(42))
    c = build_close_frame(1000, "", Direction.UPSTREAM, random.Random(43))
    assert a == b != c


def test_close_reason_over_123_bytes_is_rejected() -> None:
    with pytest.raises(ValueError, match="124 UTF-8 bytes"):
        close_payload(1000, "é" * 62)
    assert len(close_payload(1000, "x" * 123)) == 125


def test_direction_rejects_unknown_stream_names() -> None:
    assert Direction.parse("UPSTREAM") is Direction.UPSTREAM
    with pytest.raises(ValueError, match="'sideways'"):
        Direction.parse("sideways")


def test_take_pending_hands_out_a_partial_header_once() -> None:
    frame = encode_frame(Opcode.BINARY, b"q" * 10, mask_key=b"abcd")
    tracker = WsTracker("upstream", Phase.FRAMES)
    tracker.feed(frame[:3])
    assert tracker.take_pending() == frame[:3]
    assert tracker.take_pending() == b""
    assert tracker.pending == b""
    assert tracker.header_handed_out and not tracker.at_message_boundary
    pieces = tracker.feed(frame[3:])
    assert pieces[0].kind is PieceKind.HEADER
    assert pieces[0].data == frame[3:6] and pieces[0].released == 3
    assert pieces[0].frame is not None and pieces[0].frame.mask_key == b"abcd"
    assert frame[:3] + joined(pieces) == frame
    assert not tracker.header_handed_out and tracker.at_message_boundary
