"""``x-ws-delay``: delay whole WebSocket data messages (spec/TOXIPROXY.md §3.3).

Each delayed data message is held until its last byte arrives and released at that
chunk's read stamp + ``latency`` + U[-``jitter``, ``jitter``) ms (negative → 0), so
delays pipeline like the built-in ``latency`` and the emitted stamp is advanced by the
delay (stacked delays add). Data order is kept: messages that are not delayed (other
``kind``, or no ``pattern`` match) queue behind delayed ones. Ping and pong frames pass at
once; a close frame, HTTP and passthrough bytes wait behind earlier data.
"""

from __future__ import annotations

import random
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wsquake.faults.toxics.base import Action, Emit
from wsquake.faults.toxics.ws_common import (
    Attribute,
    Inspector,
    MessageKind,
    Output,
    dotted_path,
    inspectable,
    link_tracker,
    message_kind,
    non_negative_int,
    regex,
    validate,
)
from wsquake.faults.wsframes import Direction, Opcode, Piece, PieceKind, WsTracker

TYPE = "x-ws-delay"

#: Largest text message inspected when ``pattern`` is set.
INSPECT_MAX_BYTES = 1_048_576

SCHEMA = (
    Attribute("latency", non_negative_int, 0),
    Attribute("jitter", non_negative_int, 0),
    Attribute("kind", message_kind, "any"),
    Attribute("pattern", regex, ""),  # "" = no pattern: delay every message of ``kind``
    Attribute("field", dotted_path, "type"),
)


def validate_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return validate(TYPE, SCHEMA, attributes)


@dataclass(frozen=True, slots=True)
class WsDelayConfig:
    latency_ms: int
    jitter_ms: int
    kind: MessageKind
    pattern: re.Pattern[str] | None
    field: str

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, Any]) -> WsDelayConfig:
        valid = validate_attributes(attributes)
        pattern = re.compile(valid["pattern"]) if valid["pattern"] else None
        return cls(
            valid["latency"], valid["jitter"], MessageKind(valid["kind"]), pattern, valid["field"]
        )


@dataclass(slots=True)
class _Entry:
    release: float
    data: bytearray
    stamp: float


class DelayLink:
    """Per-link state in the pump's ``state``: survives updates of the toxic."""

    __slots__ = ("tracker", "queue", "last_release", "message", "holding", "held", "inspector")

    def __init__(self, tracker: WsTracker) -> None:
        self.tracker = tracker
        self.queue: deque[_Entry] = deque()
        self.last_release = float("-inf")
        self.message = 0  # tracker index of the message being held (if holding)
        self.holding = False
        self.held = bytearray()
        self.inspector: Inspector | None = None


class WsDelayStage:
    def __init__(
        self, config: WsDelayConfig, rng: random.Random, direction: Direction, state: Any
    ) -> None:
        self.config = config
        self.rng = rng
        tracker = link_tracker(state, direction)
        link = state.get("x-ws-delay") if isinstance(state, dict) else None
        if not isinstance(link, DelayLink):
            link = DelayLink(tracker)
            if isinstance(state, dict):
                state["x-ws-delay"] = link
        link.tracker = tracker
        self.link = link

    # -- Stage --------------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        return []

    def data(self, chunk: bytes, stamp: float, now: float) -> list[Action]:
        out = Output(now, stamp)
        for piece in self.link.tracker.feed(chunk):
            self._route(piece, stamp, now, out)
        return out.done()

    def timer(self, now: float) -> list[Action]:
        queue = self.link.queue
        actions: list[Action] = []
        while queue and queue[0].release <= now:
            entry = queue.popleft()
            actions.append(Emit(bytes(entry.data), now, entry.stamp))
        return actions

    def deadline(self) -> float | None:
        queue = self.link.queue
        return queue[0].release if queue else None

    def eof(self, now: float) -> list[Action]:
        # Queued messages keep their release times; the close follows them.
        return self._drain(now, keep_times=True)

    def flush(self, now: float) -> list[Action]:
        return self._drain(now, keep_times=False)

    # -- internals ----------------------------------------------------------------------

    def _drain(self, now: float, *, keep_times: bool) -> list[Action]:
        link = self.link
        actions: list[Action] = []
        for entry in link.queue:
            at = max(entry.release, now) if keep_times else now
            actions.append(Emit(bytes(entry.data), at, entry.stamp))
        link.queue.clear()
        rest = bytes(link.held) + link.tracker.take_pending()
        link.held.clear()
        link.holding = False
        link.inspector = None
        if rest:
            at = max(link.last_release, now) if keep_times else now
            actions.append(Emit(rest, at, now))
        return actions

    def _route(self, piece: Piece, stamp: float, now: float, out: Output) -> None:
        link = self.link
        frame = piece.frame
        if frame is not None and frame.opcode in (Opcode.PING, Opcode.PONG):
            out.forward(piece.data)  # never delayed, may overtake queued data
            return
        if link.holding and (
            (frame is not None and frame.opcode is Opcode.CLOSE)
            or piece.kind is PieceKind.PASSTHROUGH
        ):
            # The sender closes in the middle of a held message, or the framing broke:
            # what we have of it goes first (undelayed), then the rest, in order.
            self._release_held(stamp, stamp, now, out)
        if piece.message_start:
            link.message = piece.message
            link.holding = not piece.released and self._hold(piece)
            link.held.clear()
            link.inspector = Inspector(INSPECT_MAX_BYTES) if link.holding else None
        if not piece.is_data or piece.message != link.message or not link.holding:
            self._ordered(piece.data, stamp, stamp, now, out)
            return
        link.held += piece.data
        if link.inspector is not None and piece.kind is PieceKind.PAYLOAD:
            link.inspector.add(piece)
        if piece.message_end:
            if self._delayed():
                release = stamp + self._delay_ms() / 1000.0
                self._release_held(release, release, now, out)
            else:
                self._release_held(stamp, stamp, now, out)

    def _hold(self, piece: Piece) -> bool:
        config = self.config
        if not config.kind.matches(piece):
            return False
        if config.pattern is not None:
            return inspectable(piece, INSPECT_MAX_BYTES)
        return config.latency_ms > 0 or config.jitter_ms > 0

    def _delayed(self) -> bool:
        config = self.config
        if config.pattern is None:
            return True
        inspector = self.link.inspector
        return inspector is not None and inspector.matches(config.field, config.pattern)

    def _delay_ms(self) -> float:
        config = self.config
        delay = float(config.latency_ms)
        if config.jitter_ms:
            delay += (self.rng.random() * 2.0 - 1.0) * config.jitter_ms
        return max(delay, 0.0)

    def _release_held(self, release: float, stamp: float, now: float, out: Output) -> None:
        link = self.link
        data = bytes(link.held)
        link.held.clear()
        link.holding = False
        link.inspector = None
        self._ordered(data, release, stamp, now, out)

    def _ordered(
        self, data: bytes, release: float, stamp: float, now: float, out: Output
    ) -> None:
        """Send ``data`` at ``release`` but never before data queued earlier."""
        if not data:
            return
        link = self.link
        queue = link.queue
        if not queue and release <= now:
            out.forward(data)
            return
        release = max(release, link.last_release)
        link.last_release = release
        if queue and queue[-1].release == release and queue[-1].stamp == stamp:
            queue[-1].data += data
        else:
            queue.append(_Entry(release, bytearray(data), stamp))


def factory(
    attributes: Mapping[str, Any], rng: random.Random, *, stream: str, state: Any
) -> WsDelayStage:
    return WsDelayStage(
        WsDelayConfig.from_attributes(attributes), rng, Direction.parse(stream), state
    )
