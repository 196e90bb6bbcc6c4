"""What the extension toxics share: strict attribute validation, per-link state, output.

Extension attributes (spec/TOXIPROXY.md §3.1) are validated strictly: unknown keys, wrong
JSON types, probabilities outside [0, 1] and negative integers raise
:class:`ExtensionAttributeError`, whose message names the toxic type and the attribute;
the HTTP API answers it with 400 ``bad request body: <message>``. Omitted attributes (or
``null``, which JSON decoding treats as absent) take their defaults, and the normalised
result holds the full set so the API can echo it.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from wsquake.faults.toxics.base import Action, Emit, InvalidAttributes
from wsquake.faults.wsframes import Direction, Piece, WsTracker, unmask

INT64_MAX = (1 << 63) - 1


class ExtensionAttributeError(InvalidAttributes):
    """An extension toxic's attributes are invalid (HTTP 400 ``bad request body: …``)."""


class MessageKind(enum.Enum):
    """Which data messages a toxic acts on (the ``kind`` attribute)."""

    ANY = "any"
    TEXT = "text"
    BINARY = "binary"

    def matches(self, piece: Piece) -> bool:
        if self is MessageKind.ANY:
            return True
        opcode = piece.message_opcode
        return opcode is not None and opcode.name.lower() == self.value


# -- validation -----------------------------------------------------------------------

_REQUIRED: Any = object()

Check = Callable[[str, str, Any], Any]  # (toxic type, attribute, value) -> normalised value


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    check: Check
    default: Any = _REQUIRED


def _fail(kind: str, name: str, expected: str, value: Any) -> ExtensionAttributeError:
    return ExtensionAttributeError(
        f"{kind}: attribute {name!r} must be {expected}, got {json.dumps(value)}"
    )


def probability(kind: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(kind, name, "a number in [0, 1]", value)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise _fail(kind, name, "a number in [0, 1]", value)
    return float(value)


def int_at_least(minimum: int) -> Check:
    expected = f"an integer >= {minimum}"

    def check(kind: str, name: str, value: Any) -> int:
        if type(value) is not int or not minimum <= value <= INT64_MAX:
            raise _fail(kind, name, expected, value)
        return value

    return check


non_negative_int = int_at_least(0)


def string(kind: str, name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(kind, name, "a string", value)
    return value


def message_kind(kind: str, name: str, value: Any) -> str:
    allowed = [k.value for k in MessageKind]
    if value not in allowed:
        raise _fail(kind, name, "one of " + ", ".join(json.dumps(a) for a in allowed), value)
    return str(value)


def regex(kind: str, name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(kind, name, "a regular expression string", value)
    try:
        re.compile(value)
    except re.error as exc:
        raise ExtensionAttributeError(
            f"{kind}: attribute {name!r} is not a valid regular expression ({exc}): "
            f"{json.dumps(value)}"
        ) from None
    return value


def non_empty_regex(kind: str, name: str, value: Any) -> str:
    if value == "":
        raise _fail(kind, name, "a non-empty regular expression", value)
    return regex(kind, name, value)


def dotted_path(kind: str, name: str, value: Any) -> str:
    if not isinstance(value, str) or not value or "" in value.split("."):
        raise _fail(kind, name, 'a dotted field path such as "type" or "data.type"', value)
    return value


def validate(kind: str, schema: tuple[Attribute, ...], given: Mapping[str, Any] | None) -> dict[
    str, Any
]:
    """Check ``given`` against ``schema``; return the full, normalised attribute set."""
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise ExtensionAttributeError(
            f"{kind}: attributes must be a JSON object, got {json.dumps(given)}"
        )
    names = [a.name for a in schema]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ExtensionAttributeError(
            f"{kind}: unknown attribute {unknown[0]!r} (allowed: {', '.join(names)})"
        )
    out: dict[str, Any] = {}
    for attribute in schema:
        value = given.get(attribute.name)
        if value is None:
            if attribute.default is _REQUIRED:
                raise ExtensionAttributeError(
                    f"{kind}: missing required attribute {attribute.name!r}"
                )
            out[attribute.name] = attribute.default
        else:
            out[attribute.name] = attribute.check(kind, attribute.name, value)
    return out


# -- inspection -----------------------------------------------------------------------


def json_field_matches(payload: bytes, field: str, pattern: re.Pattern[str]) -> bool:
    """Does the UTF-8 JSON object in ``payload`` hold a string at ``field`` matching?"""
    try:
        value: Any = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    for key in field.split("."):
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    return isinstance(value, str) and pattern.fullmatch(value) is not None


class Inspector:
    """Collects a text message's unmasked payload, up to ``max_bytes``."""

    __slots__ = ("max_bytes", "_parts", "_size", "overflow")

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._parts: list[bytes] = []
        self._size = 0
        self.overflow = False

    def add(self, piece: Piece) -> None:
        if self.overflow or piece.frame is None:
            return
        self._size += len(piece.data)
        if self._size > self.max_bytes:
            self.overflow = True
            self._parts.clear()
            return
        self._parts.append(unmask(piece.data, piece.frame.mask_key, piece.offset))

    def matches(self, field: str, pattern: re.Pattern[str]) -> bool:
        return not self.overflow and json_field_matches(b"".join(self._parts), field, pattern)


def inspectable(piece: Piece, max_bytes: int) -> bool:
    """Can this message-start piece's message be matched against a pattern at all?"""
    frame = piece.frame
    return (
        frame is not None
        and piece.message_opcode is not None
        and piece.message_opcode.name == "TEXT"
        and not piece.compressed
        and frame.length <= max_bytes
    )


# -- per-link state and output --------------------------------------------------------


def link_tracker(state: Any, direction: Direction) -> WsTracker:
    """The tracker of a stage's input, kept in ``state["ws_tracker"]``.

    The pump puts a copy of the link's output tracker there when the toxic is added to a
    live link (spec §3.2 "sync on live add"); otherwise the first stage creates a fresh
    one. It stays there across restarts, so the pump can keep feeding it while a
    toxicity miss leaves the link without a stage. A partial frame header the tracker
    holds has already gone past this stage (written by the link, or flushed by the
    previous stage), so it is marked as handed out: that frame can only be forwarded.
    """
    tracker = state.get("ws_tracker") if isinstance(state, dict) else None
    if not isinstance(tracker, WsTracker):
        tracker = WsTracker(direction)
        if isinstance(state, dict):
            state["ws_tracker"] = tracker
    tracker.take_pending()
    return tracker


class Output:
    """Builds a stage's action list, merging consecutive forwarded bytes into one emit."""

    __slots__ = ("actions", "_buf", "_at", "_stamp")

    def __init__(self, at: float, stamp: float) -> None:
        self.actions: list[Action] = []
        self._buf = bytearray()
        self._at = at
        self._stamp = stamp

    def forward(self, data: bytes) -> None:
        self._buf += data

    def add(self, action: Action) -> None:
        self._flush()
        self.actions.append(action)

    def _flush(self) -> None:
        if self._buf:
            self.actions.append(Emit(bytes(self._buf), self._at, self._stamp))
            self._buf.clear()

    def done(self) -> list[Action]:
        self._flush()
        return self.actions
