"""``x-ws-drop-type``: drop text messages whose JSON field matches (spec/TOXIPROXY.md §3.3).

Only text messages that are not compressed (RSV1 clear) and whose payload fits
``max_bytes`` are inspected: such a message is held until its last fragment, unmasked,
parsed as a UTF-8 JSON object, and its dotted ``field`` matched against ``pattern`` with
``re.fullmatch``. A match is dropped with ``probability``; everything else passes
unchanged (binary and compressed messages stream through without being held).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wsquake.faults.toxics.ws_common import (
    Attribute,
    Inspector,
    dotted_path,
    inspectable,
    int_at_least,
    non_empty_regex,
    probability,
    validate,
)
from wsquake.faults.toxics.ws_drop import Fate, FilterStage
from wsquake.faults.wsframes import Direction, Piece

TYPE = "x-ws-drop-type"

DEFAULT_MAX_BYTES = 1_048_576

SCHEMA = (
    Attribute("pattern", non_empty_regex),
    Attribute("field", dotted_path, "type"),
    Attribute("probability", probability, 1.0),
    Attribute("max_bytes", int_at_least(0), DEFAULT_MAX_BYTES),
)


def validate_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return validate(TYPE, SCHEMA, attributes)


@dataclass(frozen=True, slots=True)
class WsDropTypeConfig:
    pattern: re.Pattern[str]
    field: str
    probability: float
    max_bytes: int

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, Any]) -> WsDropTypeConfig:
        valid = validate_attributes(attributes)
        return cls(
            re.compile(valid["pattern"]), valid["field"], valid["probability"], valid["max_bytes"]
        )


class WsDropTypeStage(FilterStage):
    def __init__(
        self, config: WsDropTypeConfig, rng: random.Random, direction: Direction, state: Any
    ) -> None:
        super().__init__(rng, direction, state)
        self.config = config

    def max_bytes(self) -> int:
        return self.config.max_bytes

    def decide(self, piece: Piece) -> Fate:
        return Fate.HOLD if inspectable(piece, self.config.max_bytes) else Fate.FORWARD

    def verdict(self, inspector: Inspector) -> bool:
        config = self.config
        if not inspector.matches(config.field, config.pattern):
            return False
        self.link.counted += 1
        return self.rng.random() < config.probability


def factory(
    attributes: Mapping[str, Any], rng: random.Random, *, stream: str, state: Any
) -> WsDropTypeStage:
    return WsDropTypeStage(
        WsDropTypeConfig.from_attributes(attributes), rng, Direction.parse(stream), state
    )
