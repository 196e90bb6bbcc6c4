"""Typed views of the Toxiproxy API's JSON objects (frozen; JSON only at the edge)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from wsquake.faults.client.errors import UnexpectedResponse

__all__ = ["ProxyInfo", "Stream", "ToxicInfo"]


class Stream(enum.StrEnum):
    """Direction a toxic acts on: ``upstream`` = client→server, ``downstream`` = server→client."""

    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"


def _require(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if key not in obj:
        raise UnexpectedResponse(f"{what} has no {key!r}: {dict(obj)!r}")
    value = obj[key]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise UnexpectedResponse(f"{what} field {key!r} has the wrong type: {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class ToxicInfo:
    """A toxic as the server reports it (``attributes`` holds the type's full set)."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_json(cls, obj: object) -> ToxicInfo:
        if not isinstance(obj, Mapping):
            raise UnexpectedResponse(f"a toxic must be a JSON object, got {obj!r}")
        attributes = obj.get("attributes") or {}
        if not isinstance(attributes, Mapping):
            raise UnexpectedResponse(f"toxic attributes must be an object, got {attributes!r}")
        return cls(
            name=_require(obj, "name", str, "toxic"),
            type=_require(obj, "type", str, "toxic"),
            stream=_require(obj, "stream", str, "toxic"),
            toxicity=float(_require(obj, "toxicity", (int, float), "toxic")),
            attributes=MappingProxyType(dict(attributes)),
        )


@dataclass(frozen=True, slots=True)
class ProxyInfo:
    """A proxy as the server reports it; ``listen`` is the bound address once enabled."""

    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[ToxicInfo, ...] = ()

    @classmethod
    def from_json(cls, obj: object) -> ProxyInfo:
        if not isinstance(obj, Mapping):
            raise UnexpectedResponse(f"a proxy must be a JSON object, got {obj!r}")
        toxics = obj.get("toxics") or []
        if not isinstance(toxics, list):
            raise UnexpectedResponse(f"proxy toxics must be an array, got {toxics!r}")
        return cls(
            name=_require(obj, "name", str, "proxy"),
            listen=_require(obj, "listen", str, "proxy"),
            upstream=_require(obj, "upstream", str, "proxy"),
            enabled=_require(obj, "enabled", bool, "proxy"),
            toxics=tuple(ToxicInfo.from_json(t) for t in toxics),
        )

    def toxic(self, name: str) -> ToxicInfo | None:
        """The toxic called ``name`` in this snapshot, or ``None``."""
        for toxic in self.toxics:
            if toxic.name == name:
                return toxic
        return None
