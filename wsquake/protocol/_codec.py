"""The engine behind every wire message: typed dataclass <-> JSON object.

A message class declares its fields with Python types in snake_case; the JSON key is the
camelCase form unless ``field(metadata={"wire": ...})`` says otherwise. Decoding checks
each field against its annotation and raises :class:`MissingField` / :class:`InvalidField`
naming the wire key (dotted for nested objects, ``[i]`` for list items). Keys the class
does not model are kept in ``extras``, and so is an explicit ``null`` for an optional
field, so ``decode(encode(m)) == m`` and a relayed object re-serialises without loss.

Supported annotations: ``Any``, ``str``, ``bool``, ``int``, ``float`` (an int is accepted
and kept as sent), ``None`` in unions, ``Literal[...]``, ``str``-valued ``Enum`` classes,
``tuple[X, ...]`` (a JSON array), ``Mapping[str, X]`` (a JSON object) and nested
:class:`Payload` classes.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Union

from wsquake.protocol.exceptions import InvalidField, MissingField

__all__ = ["Message", "Payload", "decode_payload", "encode_payload"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Payload:
    """A typed JSON object. ``extras`` keeps every key the class does not model.

    ``extras`` takes part in equality but not in the hash, so a message whose modelled
    fields are hashable can live in a set.
    """

    extras: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # Lists given for array fields become tuples, so a constructed message equals
        # the parsed one and stays immutable.
        for spec in field_specs(type(self)):
            if spec.is_array:
                value = getattr(self, spec.name)
                if isinstance(value, list):
                    object.__setattr__(self, spec.name, tuple(value))

    def to_dict(self) -> dict[str, Any]:
        return encode_payload(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Message(Payload):
    """A wire message: a JSON object whose ``type`` is the class-level ``TYPE``."""

    TYPE: ClassVar[str] = ""

    @property
    def type(self) -> str:
        return self.TYPE

    def to_dict(self) -> dict[str, Any]:
        return encode_payload(self)


@dataclass(frozen=True, slots=True)
class _FieldSpec:
    name: str
    wire: str
    tp: Any
    required: bool
    lo: float | None
    hi: float | None
    is_array: bool


_SPECS: dict[type[Payload], tuple[_FieldSpec, ...]] = {}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def field_specs(cls: type[Payload]) -> tuple[_FieldSpec, ...]:
    specs = _SPECS.get(cls)
    if specs is None:
        hints = typing.get_type_hints(cls)
        built = []
        for f in dataclasses.fields(cls):
            if f.name == "extras":
                continue
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            built.append(
                _FieldSpec(
                    name=f.name,
                    wire=f.metadata.get("wire", _camel(f.name)),
                    tp=hints[f.name],
                    required=required,
                    lo=f.metadata.get("min"),
                    hi=f.metadata.get("max"),
                    is_array=_has_tuple(hints[f.name]),
                )
            )
        specs = _SPECS[cls] = tuple(built)
    return specs


def _has_tuple(tp: Any) -> bool:
    if typing.get_origin(tp) is tuple:
        return True
    if typing.get_origin(tp) in (Union, types.UnionType):
        return any(_has_tuple(a) for a in typing.get_args(tp))
    return False


class _Mismatch(Exception):
    def __init__(self, expected: str, got: Any, path: str = "") -> None:
        super().__init__(expected)
        self.expected = expected
        self.got = got
        self.path = path


def _describe_type(tp: Any) -> str:
    if tp is Any:
        return "any value"
    if tp is type(None):
        return "null"
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe_type(a) for a in typing.get_args(tp))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin is tuple:
        return f"an array of {_describe_type(typing.get_args(tp)[0])}"
    if origin in (Mapping, dict) or tp in (dict,):
        return "an object"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    if isinstance(tp, type) and issubclass(tp, Payload):
        return "an object"
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _convert(value: Any, tp: Any, message_type: str, path: str) -> Any:
    """Check ``value`` against ``tp``; return the typed value or raise ``_Mismatch``."""
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            raise _Mismatch(_describe_type(tp), value)
        nested: _Mismatch | None = None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, message_type, path)
            except _Mismatch as exc:
                if exc.path and nested is None:
                    nested = exc  # a deeper error inside a matching container
        if nested is not None:
            raise nested
        raise _Mismatch(_describe_type(tp), value)
    if origin is Literal:
        if value in typing.get_args(tp) and not isinstance(value, bool):
            return value
        raise _Mismatch(_describe_type(tp), value)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise _Mismatch(_describe_type(tp), value)
        item_tp = typing.get_args(tp)[0]
        return tuple(
            _convert_item(item, item_tp, message_type, f"{path}[{i}]")
            for i, item in enumerate(value)
        )
    if origin in (Mapping, dict) or tp is dict:
        if not isinstance(value, Mapping):
            raise _Mismatch(_describe_type(tp), value)
        args = typing.get_args(tp)
        value_tp = args[1] if args else Any
        if value_tp is Any:
            return dict(value)
        return {
            k: _convert_item(v, value_tp, message_type, f"{path}.{k}") for k, v in value.items()
        }
    if isinstance(tp, type) and issubclass(tp, Payload):
        if not isinstance(value, Mapping):
            raise _Mismatch("an object", value)
        return decode_payload(tp, value, message_type, prefix=f"{path}.")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise _Mismatch(_describe_type(tp), value) from None
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise _Mismatch("a finite number", value)
            return value
    elif tp is str:
        if isinstance(value, str):
            return value
    else:  # pragma: no cover - a programming error in a message class
        raise TypeError(f"unsupported annotation {tp!r} at {path}")
    raise _Mismatch(_describe_type(tp), value)


def _convert_item(value: Any, tp: Any, message_type: str, path: str) -> Any:
    try:
        return _convert(value, tp, message_type, path)
    except _Mismatch as exc:
        if exc.path:
            raise
        raise _Mismatch(exc.expected, exc.got, path) from None


def decode_payload(
    cls: type[Payload], obj: Mapping[str, Any], message_type: str, prefix: str = ""
) -> Any:
    """Build ``cls`` from a JSON object; errors name ``prefix + wire key``."""
    kwargs: dict[str, Any] = {}
    known: set[str] = {"type"} if issubclass(cls, Message) else set()
    extras: dict[str, Any] = {}
    for spec in field_specs(cls):
        known.add(spec.wire)
        where = prefix + spec.wire
        if spec.wire not in obj:
            if spec.required:
                raise MissingField(message_type, where)
            continue
        raw = obj[spec.wire]
        try:
            value = _convert(raw, spec.tp, message_type, where)
        except _Mismatch as exc:
            raise InvalidField(message_type, exc.path or where, exc.expected, exc.got) from None
        if value is None and not spec.required:
            extras[spec.wire] = None  # keep an explicit null so re-encoding is lossless
        _check_range(spec, value, message_type, where)
        kwargs[spec.name] = value
    for key, raw in obj.items():
        if key not in known:
            extras[key] = raw
    if extras:
        kwargs["extras"] = extras
    return cls(**kwargs)


def _check_range(spec: _FieldSpec, value: Any, message_type: str, where: str) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    if (spec.lo is not None and value < spec.lo) or (spec.hi is not None and value > spec.hi):
        bounds = f"between {spec.lo} and {spec.hi}"
        raise InvalidField(message_type, where, bounds, value)


def _encode(value: Any) -> Any:
    if isinstance(value, Payload):
        return encode_payload(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _encode(v) for k, v in value.items()}
    return value


def encode_payload(payload: Payload) -> dict[str, Any]:
    """The JSON object for a payload or message: ``type`` first, fields, then extras."""
    out: dict[str, Any] = {}
    if isinstance(payload, Message):
        out["type"] = payload.type
    for spec in field_specs(type(payload)):
        value = getattr(payload, spec.name)
        if value is None:
            continue
        out[spec.wire] = _encode(value)
    for key, value in payload.extras.items():
        if key not in out:
            out[key] = _encode(value)
    return out
