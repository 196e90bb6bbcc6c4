"""``x-drop-chunk``: a packet-loss-like toxic (spec/TOXIPROXY.md §3.4).

Each chunk reaching the stage is, with ``probability``, discarded together with the next
``burst - 1`` chunks. The stage never closes the link, nor on removal. Real TCP never
loses bytes (it retransmits), so this models a lossy relay and exercises parsers; put a
``slicer`` before it for finer units. Not WebSocket-aware: frames get cut.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wsquake.faults.toxics.base import Action, Emit
from wsquake.faults.toxics.ws_common import Attribute, int_at_least, probability, validate

TYPE = "x-drop-chunk"

SCHEMA = (
    Attribute("probability", probability, 1.0),
    Attribute("burst", int_at_least(1), 1),
)


def validate_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return validate(TYPE, SCHEMA, attributes)


@dataclass(frozen=True, slots=True)
class DropChunkConfig:
    probability: float
    burst: int

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, Any]) -> DropChunkConfig:
        valid = validate_attributes(attributes)
        return cls(valid["probability"], valid["burst"])


class DropChunkLink:
    """Per-link counters in the pump's ``state``: survive updates of the toxic."""

    __slots__ = ("burst_left", "dropped_chunks", "dropped_bytes")

    def __init__(self) -> None:
        self.burst_left = 0  # chunks still to drop in the current burst
        self.dropped_chunks = 0
        self.dropped_bytes = 0


class DropChunkStage:
    def __init__(self, config: DropChunkConfig, rng: random.Random, state: Any) -> None:
        self.config = config
        self.rng = rng
        link = state.get("x-drop-chunk") if isinstance(state, dict) else None
        if not isinstance(link, DropChunkLink):
            link = DropChunkLink()
            if isinstance(state, dict):
                state["x-drop-chunk"] = link
        self.link = link

    def start(self, now: float) -> list[Action]:
        return []

    def data(self, chunk: bytes, stamp: float, now: float) -> list[Action]:
        link = self.link
        if link.burst_left > 0:
            link.burst_left -= 1
        elif self.rng.random() < self.config.probability:
            link.burst_left = self.config.burst - 1
        else:
            return [Emit(chunk, now, stamp)]
        link.dropped_chunks += 1
        link.dropped_bytes += len(chunk)
        return []

    def eof(self, now: float) -> list[Action]:
        return []

    def timer(self, now: float) -> list[Action]:
        return []

    def deadline(self) -> float | None:
        return None

    def flush(self, now: float) -> list[Action]:
        return []


def factory(
    attributes: Mapping[str, Any], rng: random.Random, *, stream: str, state: Any
) -> DropChunkStage:
    return DropChunkStage(DropChunkConfig.from_attributes(attributes), rng, state)
