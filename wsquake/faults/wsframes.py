"""An incremental RFC 6455 byte-stream tracker for the proxy's ``x-ws-*`` toxics (no I/O).

A :class:`WsTracker` follows one direction of one proxied connection (a *link*) through
the phases of spec/TOXIPROXY.md §3.2:

- ``http``: bytes pass as :attr:`PieceKind.HTTP` up to the blank line ending the header
  block (at most :data:`MAX_HTTP_HEADER` bytes). Stream ``upstream`` then enters
  ``frames`` iff the request carries ``Upgrade: websocket``; stream ``downstream`` iff the
  status is 101. Anything else: ``passthrough`` for the life of the link.
- ``frames``: RFC 6455 §5.2 frame headers are parsed across arbitrary chunk boundaries.
  Every input chunk is split into byte-exact :class:`Piece` values (one complete frame
  header, or a run of payload bytes of one frame), each tagged with the frame and the
  message it belongs to, so a toxic can forward, hold or drop whole messages without
  re-encoding anything. A frame header is reported only once it is complete (at most 14
  bytes are held back meanwhile; see :attr:`WsTracker.pending`).
- ``passthrough``: invalid framing (reserved opcode, fragmented or over-long control
  frame, 64-bit length with the top bit set, continuation outside a message, new data
  frame inside one) switches the link to opaque bytes for good, logged once.

The tracker is a plain value: :meth:`WsTracker.copy` clones it, which is how an ``x-ws-*``
stage added to a live link starts frame-aligned (the pump keeps a passive tracker on each
link's output and hands the new stage a copy).
"""

from __future__ import annotations

import enum
import logging
import random
import struct
from dataclasses import dataclass

logger = logging.getLogger(__name__)

#: Longest HTTP header block (request or response) the tracker looks at, in bytes.
MAX_HTTP_HEADER = 16 * 1024

#: Longest close reason that fits a control frame's 125-byte payload with its code.
MAX_CLOSE_REASON = 123


class Phase(enum.Enum):
    HTTP = "http"
    FRAMES = "frames"
    PASSTHROUGH = "passthrough"


class Direction(enum.Enum):
    """Which way a link carries bytes (``stream`` in the Toxiproxy API)."""

    UPSTREAM = "upstream"  # client -> server: frames are masked
    DOWNSTREAM = "downstream"  # server -> client

    @classmethod
    def parse(cls, stream: str) -> Direction:
        try:
            return cls(stream.lower())
        except ValueError:
            raise ValueError(
                f"stream must be 'upstream' or 'downstream', got {stream!r}"
            ) from None


class Opcode(enum.IntEnum):
    CONT = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA

    @property
    def is_control(self) -> bool:
        return self >= 0x8


class PieceKind(enum.Enum):
    HTTP = "http"  # part of the HTTP header block
    PASSTHROUGH = "passthrough"  # opaque bytes (not WebSocket, or framing broken)
    HEADER = "header"  # one complete frame header
    PAYLOAD = "payload"  # a run of payload bytes of one frame


@dataclass(frozen=True, slots=True)
class FrameHeader:
    fin: bool
    rsv1: bool
    rsv2: bool
    rsv3: bool
    opcode: Opcode
    mask_key: bytes | None  # 4 bytes when the MASK bit is set
    length: int  # payload length
    size: int  # header length in bytes (2-14)

    @property
    def masked(self) -> bool:
        return self.mask_key is not None


@dataclass(frozen=True, slots=True)
class Piece:
    """A byte-exact slice of a link's input, tagged with where it sits in the stream.

    For frame pieces, ``message`` is the 1-based index of the data message (text or
    binary, with its continuation frames) on this tracker, or 0 for a control frame;
    ``message_opcode`` and ``compressed`` (RSV1 of the message's first frame) describe
    that message. ``offset`` is where ``data`` starts in the frame's payload (for
    :func:`unmask`). ``frame_end`` marks the piece that completes the frame, and
    ``message_end`` the piece that completes a data message (last byte of its FIN frame)
    or a control frame.
    """

    kind: PieceKind
    data: bytes
    frame: FrameHeader | None = None
    message: int = 0
    message_opcode: Opcode | None = None
    compressed: bool = False
    offset: int = 0
    frame_end: bool = False
    message_end: bool = False
    released: int = 0  # header bytes handed out earlier by take_pending (not in data)

    @property
    def is_frame(self) -> bool:
        return self.frame is not None

    @property
    def is_control(self) -> bool:
        return self.frame is not None and self.frame.opcode.is_control

    @property
    def is_data(self) -> bool:
        return self.frame is not None and not self.frame.opcode.is_control

    @property
    def message_start(self) -> bool:
        """The header of the first frame of a data message: where toxics decide."""
        return (
            self.kind is PieceKind.HEADER
            and self.frame is not None
            and self.frame.opcode in (Opcode.TEXT, Opcode.BINARY)
        )


class FramingError(ValueError):
    """Raised inside the tracker for invalid framing; never escapes :meth:`WsTracker.feed`."""


class WsTracker:
    """Incremental tracker of one link's byte stream. See the module docstring."""

    __slots__ = (
        "direction",
        "phase",
        "_http",
        "_header",
        "_frame",
        "_remaining",
        "_offset",
        "_message",
        "_message_opcode",
        "_compressed",
        "_in_message",
        "_released",
        "bytes_seen",
    )

    def __init__(self, direction: Direction | str, phase: Phase = Phase.HTTP) -> None:
        if not isinstance(direction, Direction):
            direction = Direction.parse(direction)
        self.direction = direction
        self.phase = phase
        self._http = b""  # header block seen so far (phase HTTP)
        self._header = b""  # partial frame header held back (phase FRAMES)
        self._frame: FrameHeader | None = None  # frame whose payload is being read
        self._remaining = 0  # payload bytes still to come for _frame
        self._offset = 0  # payload bytes of _frame already seen
        self._message = 0  # index of the last data message started
        self._message_opcode: Opcode | None = None
        self._compressed = False
        self._in_message = False  # a data message started and its FIN frame not done
        self._released = 0  # bytes of the partial header already handed out (take_pending)
        self.bytes_seen = 0

    # -- inspection -------------------------------------------------------------------

    def copy(self) -> WsTracker:
        clone = WsTracker.__new__(WsTracker)
        for name in WsTracker.__slots__:
            setattr(clone, name, getattr(self, name))
        return clone

    @property
    def pending(self) -> bytes:
        """Input bytes not yet returned as pieces: a partial frame header."""
        return self._header[self._released :]

    def take_pending(self) -> bytes:
        """Hand out the partial frame header now (a stage being removed must forward
        everything it holds). The header still completes normally; its piece then holds
        only the bytes not handed out and has :attr:`Piece.released` set."""
        out = self._header[self._released :]
        self._released = len(self._header)
        return out

    @property
    def header_handed_out(self) -> bool:
        """Part of the next frame header was already handed out by :meth:`take_pending`."""
        return self._released > 0

    @property
    def in_message(self) -> bool:
        """A data message has started and its last frame is not complete."""
        return self._in_message

    @property
    def in_frame(self) -> bool:
        """A frame header was returned and some of its payload is still to come."""
        return self._frame is not None

    @property
    def at_message_boundary(self) -> bool:
        """In ``frames``, between frames and outside any data message (a frame header
        partly handed out by :meth:`take_pending` counts as a frame begun)."""
        return (
            self.phase is Phase.FRAMES
            and not self._in_message
            and self._frame is None
            and not self._released
        )

    @property
    def messages(self) -> int:
        """Data messages started on this tracker (the last message index)."""
        return self._message

    @property
    def current_message(self) -> int:
        """Index of the data message in progress, or 0 between messages."""
        return self._message if self._in_message else 0

    # -- feeding ----------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Piece]:
        """Consume ``data``; return it split into pieces (minus a partial frame header)."""
        self.bytes_seen += len(data)
        pieces: list[Piece] = []
        view = memoryview(data)
        pos = 0
        while pos < len(data):
            if self.phase is Phase.PASSTHROUGH:
                pieces.append(Piece(PieceKind.PASSTHROUGH, bytes(view[pos:])))
                break
            if self.phase is Phase.HTTP:
                pos = self._feed_http(view, pos, pieces)
                continue
            if self._frame is not None:
                pos = self._feed_payload(view, pos, pieces)
                continue
            pos = self._feed_header(view, pos, pieces)
        return pieces

    def _feed_http(self, view: memoryview, pos: int, pieces: list[Piece]) -> int:
        start_len = len(self._http)
        # Search the new bytes plus the 3 before them for the blank line.
        window = self._http[-3:] + bytes(view[pos:])
        end = window.find(b"\r\n\r\n")
        if end >= 0:
            taken = end + 4 - min(3, start_len)
            block = self._http + bytes(view[pos : pos + taken])
            if len(block) > MAX_HTTP_HEADER:
                return self._to_passthrough_http(view, pos, pieces, "HTTP header block too long")
            pieces.append(Piece(PieceKind.HTTP, bytes(view[pos : pos + taken])))
            self._http = b""
            if _is_websocket_handshake(block, self.direction):
                self.phase = Phase.FRAMES
            else:
                self.phase = Phase.PASSTHROUGH
                logger.debug("%s: not a WebSocket handshake; passthrough", self.direction.value)
            return pos + taken
        if start_len + len(view) - pos > MAX_HTTP_HEADER:
            return self._to_passthrough_http(view, pos, pieces, "HTTP header block too long")
        self._http += bytes(view[pos:])
        pieces.append(Piece(PieceKind.HTTP, bytes(view[pos:])))
        return len(view)

    def _to_passthrough_http(
        self, view: memoryview, pos: int, pieces: list[Piece], why: str
    ) -> int:
        logger.info("%s: %s; passthrough for the rest of the link", self.direction.value, why)
        self.phase = Phase.PASSTHROUGH
        self._http = b""
        pieces.append(Piece(PieceKind.PASSTHROUGH, bytes(view[pos:])))
        return len(view)

    def _feed_header(self, view: memoryview, pos: int, pieces: list[Piece]) -> int:
        need = _header_size(self._header)
        take = min(need - len(self._header), len(view) - pos)
        self._header += bytes(view[pos : pos + take])
        pos += take
        if len(self._header) < 2:
            return pos
        need = _header_size(self._header)
        if len(self._header) < need:
            take = min(need - len(self._header), len(view) - pos)
            self._header += bytes(view[pos : pos + take])
            pos += take
            if len(self._header) < need:
                return pos
        raw = self._header
        released, self._released = self._released, 0
        try:
            header = _parse_header(raw)
            self._start_frame(header)
        except FramingError as exc:
            logger.warning(
                "%s: invalid WebSocket framing (%s); passthrough for the rest of the link",
                self.direction.value,
                exc,
            )
            self.phase = Phase.PASSTHROUGH
            self._header = b""
            self._frame = None
            pieces.append(Piece(PieceKind.PASSTHROUGH, raw[released:] + bytes(view[pos:])))
            return len(view)
        self._header = b""
        done = header.length == 0
        pieces.append(
            Piece(
                PieceKind.HEADER,
                raw[released:],
                frame=header,
                message=0 if header.opcode.is_control else self._message,
                message_opcode=None if header.opcode.is_control else self._message_opcode,
                compressed=False if header.opcode.is_control else self._compressed,
                frame_end=done,
                message_end=done and self._ends_message(header),
                released=released,
            )
        )
        if done:
            self._end_frame(header)
        else:
            self._frame = header
            self._remaining = header.length
            self._offset = 0
        return pos

    def _feed_payload(self, view: memoryview, pos: int, pieces: list[Piece]) -> int:
        header = self._frame
        assert header is not None
        take = min(self._remaining, len(view) - pos)
        self._remaining -= take
        done = self._remaining == 0
        control = header.opcode.is_control
        pieces.append(
            Piece(
                PieceKind.PAYLOAD,
                bytes(view[pos : pos + take]),
                frame=header,
                message=0 if control else self._message,
                message_opcode=None if control else self._message_opcode,
                compressed=False if control else self._compressed,
                offset=self._offset,
                frame_end=done,
                message_end=done and self._ends_message(header),
            )
        )
        self._offset += take
        if done:
            self._frame = None
            self._end_frame(header)
        return pos + take

    def _start_frame(self, header: FrameHeader) -> None:
        if header.opcode.is_control:
            return
        if header.opcode is Opcode.CONT:
            if not self._in_message:
                raise FramingError("continuation frame outside a fragmented message")
            return
        if self._in_message:
            raise FramingError("new data frame inside a fragmented message")
        self._message += 1
        self._message_opcode = header.opcode
        self._compressed = header.rsv1
        self._in_message = True

    def _ends_message(self, header: FrameHeader) -> bool:
        return header.opcode.is_control or header.fin

    def _end_frame(self, header: FrameHeader) -> None:
        if not header.opcode.is_control and header.fin:
            self._in_message = False


def _header_size(head: bytes) -> int:
    """Bytes needed for the header starting with ``head`` (2 until the length byte is known)."""
    if len(head) < 2:
        return 2
    second = head[1]
    size = 2 + (4 if second & 0x80 else 0)
    short = second & 0x7F
    if short == 126:
        size += 2
    elif short == 127:
        size += 8
    return size


def _parse_header(raw: bytes) -> FrameHeader:
    first, second = raw[0], raw[1]
    try:
        opcode = Opcode(first & 0x0F)
    except ValueError:
        raise FramingError(f"reserved opcode 0x{first & 0x0F:X}") from None
    fin = bool(first & 0x80)
    short = second & 0x7F
    pos = 2
    if short == 126:
        (length,) = struct.unpack_from("!H", raw, 2)
        pos = 4
    elif short == 127:
        (length,) = struct.unpack_from("!Q", raw, 2)
        pos = 10
        if length >> 63:
            raise FramingError("64-bit payload length with the top bit set")
    else:
        length = short
    if opcode.is_control:
        if not fin:
            raise FramingError(f"fragmented control frame ({opcode.name})")
        if length > 125:
            raise FramingError(f"control frame ({opcode.name}) with {length}-byte payload")
    mask_key = raw[pos : pos + 4] if second & 0x80 else None
    return FrameHeader(
        fin=fin,
        rsv1=bool(first & 0x40),
        rsv2=bool(first & 0x20),
        rsv3=bool(first & 0x10),
        opcode=opcode,
        mask_key=mask_key,
        length=length,
        size=len(raw),
    )


def _is_websocket_handshake(block: bytes, direction: Direction) -> bool:
    text = block.decode("latin-1")
    lines = text.split("\r\n")
    if direction is Direction.DOWNSTREAM:
        parts = lines[0].split(" ", 2)
        return len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1] == "101"
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "upgrade":
            tokens = {token.strip().lower() for token in value.split(",")}
            if "websocket" in tokens:
                return True
    return False


# -- helpers for toxics ---------------------------------------------------------------


def unmask(data: bytes, mask_key: bytes | None, offset: int = 0) -> bytes:
    """Unmask ``data``, which starts ``offset`` bytes into a frame's payload."""
    if mask_key is None or not data:
        return data
    shift = offset % 4
    key = mask_key[shift:] + mask_key[:shift]
    n = len(data)
    repeated = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")


def encode_frame(
    opcode: Opcode, payload: bytes, *, fin: bool = True, mask_key: bytes | None = None
) -> bytes:
    """Serialise one frame (RSV bits clear); masked iff ``mask_key`` is given."""
    if mask_key is not None and len(mask_key) != 4:
        raise ValueError(f"mask_key must be 4 bytes, got {len(mask_key)}")
    head = bytearray([(0x80 if fin else 0) | int(opcode)])
    mask_bit = 0x80 if mask_key is not None else 0
    n = len(payload)
    if n < 126:
        head.append(mask_bit | n)
    elif n < 1 << 16:
        head.append(mask_bit | 126)
        head += struct.pack("!H", n)
    else:
        head.append(mask_bit | 127)
        head += struct.pack("!Q", n)
    if mask_key is None:
        return bytes(head) + payload
    return bytes(head) + mask_key + unmask(payload, mask_key)


def close_payload(code: int, reason: str = "") -> bytes:
    encoded = reason.encode("utf-8")
    if len(encoded) > MAX_CLOSE_REASON:
        raise ValueError(
            f"close reason is {len(encoded)} UTF-8 bytes; at most {MAX_CLOSE_REASON} allowed"
        )
    if not 1000 <= code <= 4999:
        raise ValueError(f"close code must be in 1000-4999, got {code}")
    return struct.pack("!H", code) + encoded


def build_close_frame(
    code: int, reason: str, direction: Direction, rng: random.Random
) -> bytes:
    """A close frame toward the link's destination; masked with a key from ``rng`` upstream."""
    mask_key = rng.randbytes(4) if direction is Direction.UPSTREAM else None
    return encode_frame(Opcode.CLOSE, close_payload(code, reason), mask_key=mask_key)
