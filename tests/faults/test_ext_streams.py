"""Real WebSocket byte streams for the ``x-ws-*`` tests, made with websockets' sans-I/O API.

:class:`WsPair` performs a real handshake between a ``ClientProtocol`` and a
``ServerProtocol`` and then records every byte each side sends: ``up`` (client to server,
masked) and ``down`` (server to client). Toxic output can be fed back into the peer's
protocol (:meth:`WsPair.server_receives` / :meth:`WsPair.client_receives`) to check that
what passed is a valid stream and which messages it carries.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame, Opcode
from websockets.server import ServerProtocol
from websockets.streams import StreamReader
from websockets.uri import parse_uri

from wsquake.faults.toxics.base import Action, CloseLink, Emit, Stage


class WsPair:
    def __init__(self, *, compression: bool = False) -> None:
        self.client = ClientProtocol(
            parse_uri("ws://example.com/glasses-ws"),
            extensions=[ClientPerMessageDeflateFactory()] if compression else None,
            max_size=None,
        )
        self.server = ServerProtocol(
            extensions=[ServerPerMessageDeflateFactory()] if compression else None,
            max_size=None,
        )
        request = self.client.connect()
        self.client.send_request(request)
        self.up_handshake = b"".join(self.client.data_to_send())
        self.server.receive_data(self.up_handshake)
        (received,) = self.server.events_received()
        response = self.server.accept(received)
        self.server.send_response(response)
        self.down_handshake = b"".join(self.server.data_to_send())
        self.client.receive_data(self.down_handshake)
        assert self.client.events_received()[0].status_code == 101
        self.up = bytearray(self.up_handshake)
        self.down = bytearray(self.down_handshake)

    # -- sending (records the bytes) ---------------------------------------------------

    def _out(self, side: str) -> bytes:
        proto = self.client if side == "client" else self.server
        data = b"".join(proto.data_to_send())
        (self.up if side == "client" else self.down).extend(data)
        return data

    def text(self, side: str, text: str, *, fin: bool = True) -> bytes:
        proto = self.client if side == "client" else self.server
        proto.send_text(text.encode(), fin=fin)
        return self._out(side)

    def binary(self, side: str, data: bytes, *, fin: bool = True) -> bytes:
        proto = self.client if side == "client" else self.server
        proto.send_binary(data, fin=fin)
        return self._out(side)

    def cont(self, side: str, data: bytes, *, fin: bool) -> bytes:
        proto = self.client if side == "client" else self.server
        proto.send_continuation(data, fin=fin)
        return self._out(side)

    def ping(self, side: str, data: bytes = b"") -> bytes:
        proto = self.client if side == "client" else self.server
        proto.send_ping(data)
        return self._out(side)

    def pong(self, side: str, data: bytes = b"") -> bytes:
        proto = self.client if side == "client" else self.server
        proto.send_pong(data)
        return self._out(side)

    def close(self, side: str, code: int = 1000, reason: str = "") -> bytes:
        proto = self.client if side == "client" else self.server
        proto.send_close(code, reason)
        return self._out(side)

    def json(self, side: str, **fields: object) -> bytes:
        return self.text(side, json.dumps(fields))

    # -- replaying what passed ---------------------------------------------------------

    def server_receives(self, data: bytes) -> list[Frame]:
        """Parse bytes that crossed the proxy upstream: the handshake, then masked frames."""
        assert data.startswith(self.up_handshake), data[: len(self.up_handshake)]
        return parse_frames(data[len(self.up_handshake) :], mask=True)

    def client_receives(self, data: bytes) -> list[Frame]:
        """Parse bytes that crossed the proxy downstream: the 101, then unmasked frames."""
        assert data.startswith(self.down_handshake), data[: len(self.down_handshake)]
        return parse_frames(data[len(self.down_handshake) :], mask=False)


def parse_frames(data: bytes, *, mask: bool) -> list[Frame]:
    """All complete frames in ``data`` with websockets' own parser (it checks masking,
    reserved bits and control-frame rules); trailing bytes must not be a partial frame."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames: list[Frame] = []
    while reader.buffer:
        parser = Frame.parse(reader.read_exact, mask=mask, max_size=None)
        try:
            while True:
                next(parser)
        except StopIteration as done:
            frames.append(done.value)
    return frames


def chunks(data: bytes, rng: random.Random, max_size: int = 40) -> Iterator[bytes]:
    """Split ``data`` into random-size chunks between 1 and ``max_size`` bytes."""
    pos = 0
    while pos < len(data):
        n = rng.randint(1, max_size)
        yield data[pos : pos + n]
        pos += n


def bytewise(data: bytes) -> Iterator[bytes]:
    for i in range(len(data)):
        yield data[i : i + 1]


def messages(frames: list[Frame]) -> list[tuple[Opcode, bytes]]:
    """Reassemble data messages from frames (control frames skipped)."""
    out: list[tuple[Opcode, bytes]] = []
    opcode: Opcode | None = None
    parts: list[bytes] = []
    for frame in frames:
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            opcode, parts = frame.opcode, [frame.data]
        elif frame.opcode is Opcode.CONT:
            parts.append(frame.data)
        else:
            continue
        if frame.fin:
            assert opcode is not None
            out.append((opcode, b"".join(parts)))
    return out


def texts(frames: list[Frame]) -> list[str]:
    return [data.decode() for opcode, data in messages(frames) if opcode is Opcode.TEXT]


class Driver:
    """Runs one stage the way the pump does, with a synthetic clock and no sockets.

    Emits leave in order, each no earlier than its ``at`` nor before its predecessor;
    ``sent`` records ``(leave_time, data, stamp)``. Timers fire at the stage's deadlines.
    """

    def __init__(self, stage: Stage, now: float = 0.0) -> None:
        self.stage = stage
        self.now = now
        self.sent: list[tuple[float, bytes, float]] = []
        self.closes: list[float] = []
        self._last = float("-inf")
        self._take(stage.start(now))

    def _take(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Emit):
                leave = max(action.at, self._last, self.now)
                self._last = leave
                if action.data:
                    self.sent.append((leave, action.data, action.stamp))
            elif isinstance(action, CloseLink):
                self.closes.append(action.at)

    def advance(self, now: float) -> None:
        """Let time pass up to ``now``, firing timers on the way."""
        while (deadline := self.stage.deadline()) is not None and deadline <= now:
            self.now = max(self.now, deadline)
            self._take(self.stage.timer(self.now))
        self.now = max(self.now, now)

    def feed(self, data: bytes, now: float | None = None, stamp: float | None = None) -> None:
        if now is not None:
            self.advance(now)
        self._take(self.stage.data(data, self.now if stamp is None else stamp, self.now))

    def feed_all(self, parts: Iterable[bytes]) -> None:
        for part in parts:
            self.feed(part)

    def eof(self) -> None:
        self._take(self.stage.eof(self.now))

    def flush(self) -> None:
        self._take(self.stage.flush(self.now))

    @property
    def output(self) -> bytes:
        return b"".join(data for _, data, _ in self.sent)


# -- the helper itself ----------------------------------------------------------------


def test_pair_records_bytes_that_the_peer_parses_back() -> None:
    pair = WsPair()
    pair.text("client", "hello")
    pair.binary("server", b"\x00\x01")
    frames = pair.server_receives(bytes(pair.up))
    assert texts(frames) == ["hello"]
    assert messages(pair.client_receives(bytes(pair.down))) == [(Opcode.BINARY, b"\x00\x01")]


def test_chunks_cover_the_data_exactly() -> None:
    data = bytes(range(256)) * 3
    rng = random.Random(1)
    assert b"".join(chunks(data, rng)) == data
    assert b"".join(bytewise(data)) == data
