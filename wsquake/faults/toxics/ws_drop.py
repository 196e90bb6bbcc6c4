"""``x-ws-drop``: drop whole WebSocket data messages (spec/TOXIPROXY.md §3.3).

Also home of :class:`FilterStage`, the message filter ``x-ws-drop-type`` builds on: it
decides each data message's fate at its first frame header (forward or drop, frames
stream through), or holds the message until its last fragment when a pattern has to be
inspected. Control frames always pass at once, also between the fragments of a held or
dropped message; HTTP and passthrough bytes pass unchanged. Nothing is re-encoded.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wsquake.faults.toxics.base import Action, Emit
from wsquake.faults.toxics.ws_common import (
    Attribute,
    Inspector,
    MessageKind,
    Output,
    int_at_least,
    link_tracker,
    message_kind,
    probability,
    validate,
)
from wsquake.faults.wsframes import Direction, Piece, PieceKind, WsTracker

TYPE = "x-ws-drop"

SCHEMA = (
    Attribute("probability", probability, 1.0),
    Attribute("every", int_at_least(0), 0),
    Attribute("kind", message_kind, "any"),
)


def validate_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return validate(TYPE, SCHEMA, attributes)


class Fate(enum.Enum):
    FORWARD = "forward"
    DROP = "drop"
    HOLD = "hold"  # inspect: held until the last fragment, then forward or drop


class FilterLink:
    """A filter's per-link state; lives in the pump's ``state`` so it survives updates."""

    __slots__ = ("tracker", "counted", "dropped", "message", "fate", "held", "inspector")

    def __init__(self, tracker: WsTracker) -> None:
        self.tracker = tracker
        self.counted = 0  # messages of the toxic's kind seen (1-based index of the last)
        self.dropped = 0
        self.message = 0  # tracker index of the message whose fate is set
        self.fate = Fate.FORWARD
        self.held = bytearray()
        self.inspector: Inspector | None = None


class FilterStage:
    """Forwards or drops whole data messages; subclasses decide which."""

    def __init__(self, rng: random.Random, direction: Direction, state: Any) -> None:
        self.rng = rng
        self.direction = direction
        tracker = link_tracker(state, direction)
        link = state.get("x-ws-filter") if isinstance(state, dict) else None
        if not isinstance(link, FilterLink):
            link = FilterLink(tracker)
            if isinstance(state, dict):
                state["x-ws-filter"] = link
        link.tracker = tracker
        self.link = link

    # -- hooks --------------------------------------------------------------------------

    def decide(self, piece: Piece) -> Fate:
        """Fate of the message whose first frame header is ``piece``."""
        raise NotImplementedError

    def verdict(self, inspector: Inspector) -> bool:
        """For a held message, complete and within ``max_bytes``: drop it?"""
        raise NotImplementedError

    def max_bytes(self) -> int:
        return 0

    # -- Stage --------------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        return []

    def data(self, chunk: bytes, stamp: float, now: float) -> list[Action]:
        out = Output(now, stamp)
        for piece in self.link.tracker.feed(chunk):
            self._route(piece, out)
        return out.done()

    def eof(self, now: float) -> list[Action]:
        return self.flush(now)

    def timer(self, now: float) -> list[Action]:
        return []

    def deadline(self) -> float | None:
        return None

    def flush(self, now: float) -> list[Action]:
        link = self.link
        data = bytes(link.held)
        if link.fate is Fate.HOLD:
            link.fate = Fate.FORWARD
            link.held.clear()
            link.inspector = None
        data += link.tracker.take_pending()
        return [Emit(data, now, now)] if data else []

    # -- routing ------------------------------------------------------------------------

    def _route(self, piece: Piece, out: Output) -> None:
        link = self.link
        if not piece.is_frame or piece.is_control:
            if piece.kind is PieceKind.PASSTHROUGH and link.fate is Fate.HOLD:
                # Framing broke while a message was held: what we hold goes first.
                out.forward(bytes(link.held))
                link.held.clear()
                link.inspector = None
                link.fate = Fate.FORWARD
            out.forward(piece.data)
            return
        if piece.message_start:
            link.message = piece.message
            link.fate = Fate.FORWARD if piece.released else self.decide(piece)
            if link.fate is Fate.HOLD:
                link.held.clear()
                link.inspector = Inspector(self.max_bytes())
            elif link.fate is Fate.DROP:
                link.dropped += 1
        elif piece.message != link.message:
            # Part of a message that began before this stage was added: let it pass.
            out.forward(piece.data)
            return
        if link.fate is Fate.FORWARD:
            out.forward(piece.data)
        elif link.fate is Fate.HOLD:
            self._hold(piece, out)

    def _hold(self, piece: Piece, out: Output) -> None:
        link = self.link
        inspector = link.inspector
        assert inspector is not None
        link.held += piece.data
        if piece.kind is PieceKind.PAYLOAD:
            inspector.add(piece)
        if inspector.overflow:
            link.fate = Fate.FORWARD
        elif piece.message_end:
            if self.verdict(inspector):
                link.fate = Fate.DROP
                link.dropped += 1
            else:
                link.fate = Fate.FORWARD
        if link.fate is Fate.FORWARD:
            out.forward(bytes(link.held))
        if link.fate is not Fate.HOLD:
            link.held.clear()
            link.inspector = None


@dataclass(frozen=True, slots=True)
class WsDropConfig:
    probability: float
    every: int
    kind: MessageKind

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, Any]) -> WsDropConfig:
        valid = validate_attributes(attributes)
        return cls(valid["probability"], valid["every"], MessageKind(valid["kind"]))


class WsDropStage(FilterStage):
    def __init__(
        self, config: WsDropConfig, rng: random.Random, direction: Direction, state: Any
    ) -> None:
        super().__init__(rng, direction, state)
        self.config = config

    def decide(self, piece: Piece) -> Fate:
        config = self.config
        if not config.kind.matches(piece):
            return Fate.FORWARD
        self.link.counted += 1
        if config.every > 0:
            drop = self.link.counted % config.every == 0
        else:
            drop = self.rng.random() < config.probability
        return Fate.DROP if drop else Fate.FORWARD


def factory(
    attributes: Mapping[str, Any], rng: random.Random, *, stream: str, state: Any
) -> WsDropStage:
    return WsDropStage(
        WsDropConfig.from_attributes(attributes), rng, Direction.parse(stream), state
    )

