"""``x-ws-close``: close a WebSocket link cleanly, mid-session (spec/TOXIPROXY.md §3.3).

The toxic fires once per link, at the first message boundary (between frames, outside any
data message) where at least ``after_messages`` data messages have passed it and at least
``after_ms`` have elapsed since the stage (re)started; with both 0 it fires as soon as
the link is in WebSocket framing, by timer even when idle. Firing injects a close frame
(``code``, ``reason``) toward the destination (masked with a key from the link's RNG on
``upstream``), discards everything the source sends afterwards in this direction, and
closes the connection ``tcp_close_after`` ms later. ``code 0`` sends no close frame and
closes the connection at once, so the peer sees an abnormal closure (1006).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wsquake.faults.toxics.base import Action, CloseLink, Emit
from wsquake.faults.toxics.ws_common import (
    Attribute,
    ExtensionAttributeError,
    Output,
    link_tracker,
    non_negative_int,
    validate,
)
from wsquake.faults.wsframes import (
    MAX_CLOSE_REASON,
    Direction,
    Piece,
    PieceKind,
    WsTracker,
    build_close_frame,
)

TYPE = "x-ws-close"


def _close_code(kind: str, name: str, value: Any) -> int:
    if type(value) is not int or not (
        value == 0
        or 1000 <= value <= 1003
        or 1007 <= value <= 1014
        or 3000 <= value <= 4999
    ):
        raise ExtensionAttributeError(
            f"{kind}: attribute {name!r} must be 0 (no close frame), 1000-1003, 1007-1014 "
            f"or 3000-4999, got {value!r}"
        )
    return value


def _close_reason(kind: str, name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ExtensionAttributeError(f"{kind}: attribute {name!r} must be a string")
    size = len(value.encode("utf-8"))
    if size > MAX_CLOSE_REASON:
        raise ExtensionAttributeError(
            f"{kind}: attribute {name!r} is {size} UTF-8 bytes; at most {MAX_CLOSE_REASON}"
        )
    return value


SCHEMA = (
    Attribute("code", _close_code, 1000),
    Attribute("reason", _close_reason, ""),
    Attribute("after_messages", non_negative_int, 0),
    Attribute("after_ms", non_negative_int, 0),
    Attribute("tcp_close_after", non_negative_int, 1000),
)


def validate_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return validate(TYPE, SCHEMA, attributes)


@dataclass(frozen=True, slots=True)
class WsCloseConfig:
    code: int
    reason: str
    after_messages: int
    after_ms: int
    tcp_close_after_ms: int

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, Any]) -> WsCloseConfig:
        v = validate_attributes(attributes)
        return cls(v["code"], v["reason"], v["after_messages"], v["after_ms"], v["tcp_close_after"])


class CloseLinkState:
    """Per-link state in the pump's ``state``: survives updates of the toxic."""

    __slots__ = ("tracker", "passed", "fired", "close_at", "data_open", "frame_open")

    def __init__(self, tracker: WsTracker) -> None:
        self.tracker = tracker
        self.passed = 0  # data messages that ended after passing this stage
        self.fired = False
        self.close_at: float | None = None  # when the TCP close was scheduled for
        self.data_open = False  # a data message is in progress
        self.frame_open = False  # a frame has begun and is not complete

    def sync(self) -> None:
        """Take the position from the tracker (stage construction)."""
        self.data_open = self.tracker.in_message
        self.frame_open = self.tracker.in_frame or self.tracker.header_handed_out

    @property
    def at_boundary(self) -> bool:
        return not (self.data_open or self.frame_open)


class WsCloseStage:
    def __init__(
        self, config: WsCloseConfig, rng: random.Random, direction: Direction, state: Any
    ) -> None:
        self.config = config
        self.rng = rng
        self.direction = direction
        self.started = 0.0
        tracker = link_tracker(state, direction)
        link = state.get("x-ws-close") if isinstance(state, dict) else None
        if not isinstance(link, CloseLinkState):
            link = CloseLinkState(tracker)
            if isinstance(state, dict):
                state["x-ws-close"] = link
        link.tracker = tracker
        link.sync()
        self.link = link

    # -- Stage --------------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        self.started = now
        if self.link.fired:
            # A restart cancelled the pending TCP close: arm it again.
            close_at = self.link.close_at
            return [CloseLink(close_at)] if close_at is not None else []
        return self.timer(now)

    def data(self, chunk: bytes, stamp: float, now: float) -> list[Action]:
        link = self.link
        if link.fired:
            return []  # discard everything the source sends after the close
        out = Output(now, stamp)
        for piece in link.tracker.feed(chunk):
            # The boundary before this frame:
            if piece.kind is PieceKind.HEADER and link.at_boundary and self._maybe_fire(now, out):
                return out.done()
            out.forward(piece.data)
            self._track(piece)
            # The boundary after this frame:
            if piece.frame_end and link.at_boundary and self._maybe_fire(now, out):
                return out.done()
        if link.tracker.at_message_boundary:
            self._maybe_fire(now, out)  # e.g. the handshake has just ended
        return out.done()

    def eof(self, now: float) -> list[Action]:
        return self.flush(now)

    def timer(self, now: float) -> list[Action]:
        out = Output(now, now)
        if self.link.tracker.at_message_boundary:
            self._maybe_fire(now, out)
        return out.done()

    def deadline(self) -> float | None:
        link = self.link
        if (
            link.fired
            or link.passed < self.config.after_messages
            or not link.tracker.at_message_boundary
        ):
            return None
        return self.started + self.config.after_ms / 1000.0

    def flush(self, now: float) -> list[Action]:
        if self.link.fired:
            return []
        pending = self.link.tracker.take_pending()
        return [Emit(pending, now, now)] if pending else []

    # -- internals ----------------------------------------------------------------------

    def _track(self, piece: Piece) -> None:
        link = self.link
        if piece.frame is None:
            return
        if piece.message_start:
            link.data_open = True
        if piece.kind is PieceKind.HEADER:
            link.frame_open = True
        if piece.frame_end:
            link.frame_open = False
            if piece.is_data and piece.message_end:
                link.data_open = False
                link.passed += 1

    def _maybe_fire(self, now: float, out: Output) -> bool:
        """Fire if due (the caller checked the boundary); tell whether it fired now."""
        link = self.link
        config = self.config
        if link.fired or link.passed < config.after_messages:
            return False
        if now < self.started + config.after_ms / 1000.0:  # same sum as deadline()
            return False
        link.fired = True
        link.tracker.take_pending()  # a partial frame header from the source: discarded
        if config.code:
            out.forward(build_close_frame(config.code, config.reason, self.direction, self.rng))
            link.close_at = now + config.tcp_close_after_ms / 1000.0
        else:
            link.close_at = now
        out.add(CloseLink(link.close_at))
        return True


def factory(
    attributes: Mapping[str, Any], rng: random.Random, *, stream: str, state: Any
) -> WsCloseStage:
    return WsCloseStage(
        WsCloseConfig.from_attributes(attributes), rng, Direction.parse(stream), state
    )
