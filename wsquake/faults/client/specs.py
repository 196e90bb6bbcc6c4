"""Typed toxic builders: validate on construction, serialise with ``to_json()``.

Each builder is a frozen dataclass. The toxic's own attributes come first (positional),
then the common keyword-only fields ``stream`` (``"downstream"``), ``toxicity`` (1.0) and
``name`` (``None``: the server's default ``<type>_<stream>``).

Integer attributes reject ``bool`` and non-integral numbers and store integral floats as
``int`` (the real server accepts only JSON integer literals, spec §1.1). Builders whose
``EXTENSION`` is true are ``x-`` toxics of the embedded server only (spec §3); the client
refuses to send them anywhere else.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import KW_ONLY, dataclass, fields
from typing import Any, ClassVar

from wsquake.faults.client.errors import InvalidArgument
from wsquake.faults.client.models import Stream

__all__ = [
    "Bandwidth",
    "DropChunk",
    "Latency",
    "LimitData",
    "Noop",
    "ResetPeer",
    "SlowClose",
    "Slicer",
    "Timeout",
    "ToxicSpec",
    "WsClose",
    "WsDelay",
    "WsDrop",
    "WsDropType",
    "WsKind",
]

INT64_MAX = 2**63 - 1


class WsKind(enum.StrEnum):
    """Which WebSocket data messages an ``x-ws-*`` toxic counts and acts on."""

    ANY = "any"
    TEXT = "text"
    BINARY = "binary"


def _int_field(owner: str, key: str, value: object, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(f"{owner}.{key} must be an integer, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise InvalidArgument(f"{owner}.{key} must be an integer, got {value!r}")
        value = int(value)
    if not minimum <= value <= INT64_MAX:
        raise InvalidArgument(f"{owner}.{key} must be in [{minimum}, 2**63-1], got {value!r}")
    return value


def _probability(owner: str, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(f"{owner}.{key} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:  # NaN fails too
        raise InvalidArgument(f"{owner}.{key} must be in [0, 1], got {value!r}")
    return float(value)


def _set_probability(spec: object, owner: str) -> None:
    value = _probability(owner, "probability", getattr(spec, "probability"))  # noqa: B009
    object.__setattr__(spec, "probability", value)


def _text(owner: str, key: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidArgument(f"{owner}.{key} must be a string, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class ToxicSpec:
    """Common fields of every builder; subclasses set ``TYPE`` and their attributes."""

    TYPE: ClassVar[str] = ""
    EXTENSION: ClassVar[bool] = False
    INT_FIELDS: ClassVar[tuple[str, ...]] = ()

    _: KW_ONLY
    stream: Stream | str = Stream.DOWNSTREAM
    toxicity: float = 1.0
    name: str | None = None

    def __post_init__(self) -> None:
        owner = type(self).__name__
        try:
            stream = Stream(self.stream)
        except ValueError:
            raise InvalidArgument(
                f"{owner}.stream must be 'upstream' or 'downstream', got {self.stream!r}"
            ) from None
        object.__setattr__(self, "stream", stream)
        object.__setattr__(self, "toxicity", _probability(owner, "toxicity", self.toxicity))
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise InvalidArgument(f"{owner}.name must be a non-empty string, got {self.name!r}")
        for key in self.INT_FIELDS:
            object.__setattr__(self, key, _int_field(owner, key, getattr(self, key)))
        self._validate(owner)

    def _validate(self, owner: str) -> None:
        """Subclass checks beyond integer fields."""

    def attributes(self) -> dict[str, Any]:
        """The ``attributes`` object sent to the server."""
        common = {"stream", "toxicity", "name"}
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in common:
                continue
            value = getattr(self, f.name)
            if value is None:
                continue
            out[self._wire_key(f.name)] = value.value if isinstance(value, enum.Enum) else value
        return out

    def _wire_key(self, key: str) -> str:
        return key

    @property
    def stream_value(self) -> str:
        return Stream(self.stream).value

    @property
    def effective_name(self) -> str:
        """The name the server will use: ``name`` or ``<type>_<stream>``."""
        return self.name if self.name is not None else f"{self.TYPE}_{self.stream_value}"

    def to_json(self) -> dict[str, Any]:
        """The body of ``POST /proxies/{p}/toxics``."""
        body: dict[str, Any] = {
            "type": self.TYPE,
            "stream": self.stream_value,
            "toxicity": self.toxicity,
            "attributes": self.attributes(),
        }
        if self.name is not None:
            body["name"] = self.name
        return body


# --- Toxiproxy 2.12.0 built-ins (spec §2.3) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Latency(ToxicSpec):
    TYPE: ClassVar[str] = "latency"
    INT_FIELDS: ClassVar[tuple[str, ...]] = ("latency", "jitter")
    latency: int = 0
    jitter: int = 0


@dataclass(frozen=True, slots=True)
class Bandwidth(ToxicSpec):
    """``rate`` in KB/s (1 KB = 1000 B); ``0`` stalls losslessly."""

    TYPE: ClassVar[str] = "bandwidth"
    INT_FIELDS: ClassVar[tuple[str, ...]] = ("rate",)
    rate: int = 0


@dataclass(frozen=True, slots=True)
class SlowClose(ToxicSpec):
    TYPE: ClassVar[str] = "slow_close"
    INT_FIELDS: ClassVar[tuple[str, ...]] = ("delay",)
    delay: int = 0


@dataclass(frozen=True, slots=True)
class Timeout(ToxicSpec):
    """Drops all data; closes ``timeout`` ms after the last input (``0``: never)."""

    TYPE: ClassVar[str] = "timeout"
    INT_FIELDS: ClassVar[tuple[str, ...]] = ("timeout",)
    timeout: int = 0


@dataclass(frozen=True, slots=True)
class ResetPeer(ToxicSpec):
    TYPE: ClassVar[str] = "reset_peer"
    INT_FIELDS: ClassVar[tuple[str, ...]] = ("timeout",)
    timeout: int = 0


@dataclass(frozen=True, slots=True)
class Slicer(ToxicSpec):
    """Pieces of ``average_size`` ± ``size_variation`` bytes, ``delay_us`` µs apart."""

    TYPE: ClassVar[str] = "slicer"
    INT_FIELDS: ClassVar[tuple[str, ...]] = ("average_size", "size_variation", "delay_us")
    average_size: int = 1
    size_variation: int = 0
    delay_us: int = 0

    def _validate(self, owner: str) -> None:
        if not 0 <= self.size_variation < self.average_size:
            raise InvalidArgument(
                f"{owner} needs 0 <= size_variation < average_size, got "
                f"size_variation={self.size_variation}, average_size={self.average_size}"
            )

    def _wire_key(self, key: str) -> str:
        return "delay" if key == "delay_us" else key


@dataclass(frozen=True, slots=True)
class LimitData(ToxicSpec):
    TYPE: ClassVar[str] = "limit_data"
    INT_FIELDS: ClassVar[tuple[str, ...]] = ("bytes",)
    bytes: int = 0


@dataclass(frozen=True, slots=True)
class Noop(ToxicSpec):
    TYPE: ClassVar[str] = "noop"


# --- embedded-only extensions (spec §3) --------------------------------------------------

_WS_CLOSE_CODES = frozenset({0, 1000, 1001, 1002, 1003, *range(1007, 1015), *range(3000, 5000)})


def _check_pattern(owner: str, pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise InvalidArgument(f"{owner}.pattern is not a valid regular expression: {exc}") from None


@dataclass(frozen=True, slots=True)
class WsDrop(ToxicSpec):
    """Drop whole messages of ``kind``: every ``every``-th, or each with ``probability``."""

    TYPE: ClassVar[str] = "x-ws-drop"
    EXTENSION: ClassVar[bool] = True
    INT_FIELDS: ClassVar[tuple[str, ...]] = ("every",)
    probability: float = 1.0
    every: int = 0
    kind: WsKind | str = WsKind.ANY

    def _validate(self, owner: str) -> None:
        _set_probability(self, owner)
        object.__setattr__(self, "kind", _kind(owner, self.kind))


def _kind(owner: str, kind: object) -> WsKind:
    try:
        return WsKind(str(kind) if isinstance(kind, str) else "")
    except ValueError:
        raise InvalidArgument(f"{owner}.kind must be any, text or binary, got {kind!r}") from None


@dataclass(frozen=True, slots=True)
class WsDropType(ToxicSpec):
    """Drop text messages whose JSON ``field`` fully matches ``pattern``."""

    TYPE: ClassVar[str] = "x-ws-drop-type"
    EXTENSION: ClassVar[bool] = True
    INT_FIELDS: ClassVar[tuple[str, ...]] = ("max_bytes",)
    pattern: str
    field: str = "type"
    probability: float = 1.0
    max_bytes: int = 1048576

    def _validate(self, owner: str) -> None:
        _check_pattern(owner, _text(owner, "pattern", self.pattern))
        _text(owner, "field", self.field)
        _set_probability(self, owner)


@dataclass(frozen=True, slots=True)
class WsDelay(ToxicSpec):
    """Delay data messages by ``latency`` ± ``jitter`` ms (only matches, with ``pattern``)."""

    TYPE: ClassVar[str] = "x-ws-delay"
    EXTENSION: ClassVar[bool] = True
    INT_FIELDS: ClassVar[tuple[str, ...]] = ("latency", "jitter")
    latency: int = 0
    jitter: int = 0
    kind: WsKind | str = WsKind.ANY
    pattern: str | None = None
    field: str | None = None

    def _validate(self, owner: str) -> None:
        object.__setattr__(self, "kind", _kind(owner, self.kind))
        if self.pattern is not None:
            _check_pattern(owner, _text(owner, "pattern", self.pattern))
        if self.field is not None:
            _text(owner, "field", self.field)


@dataclass(frozen=True, slots=True)
class WsClose(ToxicSpec):
    """Inject a close frame once (``code 0``: cut TCP, the peer sees 1006)."""

    TYPE: ClassVar[str] = "x-ws-close"
    EXTENSION: ClassVar[bool] = True
    INT_FIELDS: ClassVar[tuple[str, ...]] = (
        "code",
        "after_messages",
        "after_ms",
        "tcp_close_after",
    )
    code: int = 1000
    reason: str = ""
    after_messages: int = 0
    after_ms: int = 0
    tcp_close_after: int = 1000

    def _validate(self, owner: str) -> None:
        if self.code not in _WS_CLOSE_CODES:
            raise InvalidArgument(
                f"{owner}.code must be 0, 1000-1003, 1007-1014 or 3000-4999, got {self.code}"
            )
        if len(_text(owner, "reason", self.reason).encode()) > 123:
            raise InvalidArgument(f"{owner}.reason must be at most 123 UTF-8 bytes")


@dataclass(frozen=True, slots=True)
class DropChunk(ToxicSpec):
    """Discard each chunk (and the next ``burst - 1``) with ``probability``."""

    TYPE: ClassVar[str] = "x-drop-chunk"
    EXTENSION: ClassVar[bool] = True
    INT_FIELDS: ClassVar[tuple[str, ...]] = ()
    probability: float = 1.0
    burst: int = 1

    def _validate(self, owner: str) -> None:
        _set_probability(self, owner)
        object.__setattr__(self, "burst", _int_field(owner, "burst", self.burst, minimum=1))
