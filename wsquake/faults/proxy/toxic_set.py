"""A proxy's toxics: parsing API bodies into entries, names, ordering (spec §1.2, §2.1).

Pure bookkeeping: it validates and stores; the proxy applies changes to live links.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wsquake.faults.proxy.exceptions import BadRequest, Conflict, NotFound, bad_body
from wsquake.faults.toxics.registry import ToxicKind, lookup

DIRECTIONS = ("upstream", "downstream")


def decode_json(raw: bytes) -> Any:
    """Decode the first JSON value as Go's ``json.Decoder`` does (trailing bytes ignored)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_body(f"invalid UTF-8: {exc}") from None
    text = text.lstrip(" \t\r\n")
    if not text:
        raise bad_body("EOF")
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        raise bad_body(str(exc)) from None
    return value


def _field(body: Mapping[str, Any], name: str, types: tuple[type, ...], what: str) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) and bool not in types:
        raise bad_body(f"field {name!r} must be {what}, got {json.dumps(value)}")
    if not isinstance(value, types):
        raise bad_body(f"field {name!r} must be {what}, got {json.dumps(value)}")
    return value


def _number(body: Mapping[str, Any], name: str) -> float | None:
    value = _field(body, name, (int, float), "a number")
    if value is not None and not math.isfinite(value):
        raise bad_body(f"field {name!r} must be a finite number")
    return None if value is None else float(value)


def _attributes(kind: ToxicKind, raw: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return kind.validate({k: v for k, v in raw.items() if v is not None})
    except ValueError as exc:
        raise bad_body(str(exc)) from None


@dataclass(slots=True, eq=False)
class ToxicEntry:
    """A stored toxic. Mutable: updates change ``attributes`` and ``toxicity`` in place."""

    name: str
    kind: ToxicKind
    stream: str  # as sent (matched case-insensitively)
    direction: str  # "upstream" | "downstream"
    toxicity: float
    attributes: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.kind.name,
            "stream": self.stream,
            "toxicity": self.toxicity,
        }


class ToxicSet:
    """Toxics of one proxy, per direction in insertion order; names unique across both."""

    def __init__(self) -> None:
        self.chains: dict[str, list[ToxicEntry]] = {d: [] for d in DIRECTIONS}

    def all(self) -> list[ToxicEntry]:
        """Upstream toxics, then downstream ones (``GetToxicArray``)."""
        return self.chains["upstream"] + self.chains["downstream"]

    def get(self, name: str) -> ToxicEntry:
        for entry in self.all():
            if entry.name == name:
                return entry
        raise NotFound("toxic not found")

    def parse_new(self, body: Any) -> ToxicEntry:
        """Validate a create body in Toxiproxy's order; does not store it."""
        if not isinstance(body, dict):
            raise bad_body(f"expected a JSON object, got {json.dumps(body)[:60]}")
        name = _field(body, "name", (str,), "a string")
        type_name = _field(body, "type", (str,), "a string") or ""
        stream = _field(body, "stream", (str,), "a string")
        toxicity = _number(body, "toxicity")
        attributes = _field(body, "attributes", (dict,), "a JSON object")
        if stream is None:
            stream = "downstream"
        direction = stream.lower()
        if direction not in DIRECTIONS:
            raise BadRequest("stream was invalid, can be either upstream or downstream")
        if not name:
            name = f"{type_name}_{stream}"
        kind = lookup(type_name)
        if kind is None:
            raise BadRequest("invalid toxic type")
        if any(e.name == name for e in self.all()):
            raise Conflict("toxic already exists")
        attrs = _attributes(kind, attributes or {})
        level = 1.0 if toxicity is None else toxicity
        return ToxicEntry(name, kind, stream, direction, level, attrs)

    def add(self, entry: ToxicEntry) -> None:
        self.chains[entry.direction].append(entry)

    def parse_update(self, entry: ToxicEntry, body: Any) -> tuple[dict[str, Any], float]:
        """Validate an update body: partial merge of attributes, toxicity if present."""
        if not isinstance(body, dict):
            raise bad_body(f"expected a JSON object, got {json.dumps(body)[:60]}")
        attributes = _field(body, "attributes", (dict,), "a JSON object")
        toxicity = _number(body, "toxicity")
        merged = dict(entry.attributes)
        if attributes:
            merged.update({k: v for k, v in attributes.items() if v is not None})
        attrs = _attributes(entry.kind, merged) if attributes else dict(entry.attributes)
        return attrs, entry.toxicity if toxicity is None else toxicity

    def remove(self, name: str) -> ToxicEntry:
        entry = self.get(name)
        self.chains[entry.direction].remove(entry)
        return entry

    def clear(self) -> list[ToxicEntry]:
        entries = self.all()
        for chain in self.chains.values():
            chain.clear()
        return entries
