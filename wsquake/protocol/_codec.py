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
from collections.abc import Callable, Mapping
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
    convert: Converter
    plain: bool
    """A JSON scalar on the wire: encoded as is."""


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
                    convert=_converter(hints[f.name]),
                    plain=_is_plain(hints[f.name]),
                )
            )
        specs = _SPECS[cls] = tuple(built)
    return specs


def _is_plain(tp: Any) -> bool:
    if tp in _SCALARS or tp is _NONE:
        return True
    origin = typing.get_origin(tp)
    if origin is Literal:
        return True
    if origin in (Union, types.UnionType):
        return all(_is_plain(a) for a in typing.get_args(tp))
    return False


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


Converter = Callable[[Any, str, str], Any]
"""``(value, message_type, path) -> typed value``; raises ``_Mismatch``."""

_CONVERTERS: dict[Any, Converter] = {}
_NONE = type(None)


def _converter(tp: Any) -> Converter:
    """The compiled converter for an annotation (built once per type, then cached)."""
    conv = _CONVERTERS.get(tp)
    if conv is None:
        conv = _CONVERTERS[tp] = _build(tp)
    return conv


def _is_finite(value: Any) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


_SCALARS: dict[Any, Callable[[Any], bool]] = {
    str: lambda v: isinstance(v, str),
    bool: lambda v: isinstance(v, bool),
    int: lambda v: isinstance(v, int) and not isinstance(v, bool),
    float: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def _build(tp: Any) -> Converter:
    expected = _describe_type(tp)
    if tp is Any:
        return lambda v, m, p: v
    origin = typing.get_origin(tp)
    if tp in _SCALARS or (
        origin in (Union, types.UnionType)
        and all(a in _SCALARS or a is _NONE for a in typing.get_args(tp))
    ):
        return _build_scalar(tp, expected)
    if origin in (Union, types.UnionType):
        return _build_union(tp, expected)
    if origin is Literal:
        allowed = typing.get_args(tp)

        def literal(v: Any, m: str, p: str) -> Any:
            if not isinstance(v, bool) and isinstance(v, str | int | float) and v in allowed:
                return v
            raise _Mismatch(expected, v)

        return literal
    if origin is tuple:
        item = _converter(typing.get_args(tp)[0])

        def array(v: Any, m: str, p: str) -> Any:
            if not isinstance(v, list | tuple):
                raise _Mismatch(expected, v)
            return tuple(_at(item, x, m, f"{p}[{i}]") for i, x in enumerate(v))

        return array
    if origin in (Mapping, dict) or tp is dict:
        args = typing.get_args(tp)
        value_tp = args[1] if args else Any

        if value_tp is Any:

            def shallow(v: Any, m: str, p: str) -> Any:
                if not isinstance(v, Mapping):
                    raise _Mismatch(expected, v)
                return dict(v)

            return shallow
        value_conv = _converter(value_tp)

        def obj(v: Any, m: str, p: str) -> Any:
            if not isinstance(v, Mapping):
                raise _Mismatch(expected, v)
            return {k: _at(value_conv, x, m, f"{p}.{k}") for k, x in v.items()}

        return obj
    if isinstance(tp, type) and issubclass(tp, Payload):
        payload_cls = tp

        def payload(v: Any, m: str, p: str) -> Any:
            if not isinstance(v, Mapping):
                raise _Mismatch(expected, v)
            return decode_payload(payload_cls, v, m, prefix=f"{p}.")

        return payload
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        enum_cls = tp

        def member(v: Any, m: str, p: str) -> Any:
            try:
                return enum_cls(v)
            except ValueError:
                raise _Mismatch(expected, v) from None

        return member
    raise TypeError(f"unsupported annotation {tp!r}")  # a programming error


def _build_scalar(tp: Any, expected: str) -> Converter:
    args = typing.get_args(tp) or (tp,)
    nullable = _NONE in args
    checks = tuple(_SCALARS[a] for a in args if a is not _NONE)
    wants_float = float in args

    def scalar(v: Any, m: str, p: str) -> Any:
        if v is None:
            if nullable:
                return None
        else:
            for check in checks:
                if check(v):
                    if wants_float and not _is_finite(v):
                        raise _Mismatch("a finite number", v)
                    return v
        raise _Mismatch(expected, v)

    return scalar


def _build_union(tp: Any, expected: str) -> Converter:
    args = typing.get_args(tp)
    nullable = _NONE in args
    convs = tuple(_converter(a) for a in args if a is not _NONE)

    def union(v: Any, m: str, p: str) -> Any:
        if v is None:
            if nullable:
                return None
            raise _Mismatch(expected, v)
        nested: _Mismatch | None = None
        for conv in convs:
            try:
                return conv(v, m, p)
            except _Mismatch as exc:
                if exc.path and nested is None:
                    nested = exc  # a deeper error inside a container of the right kind
        if nested is not None:
            raise nested
        raise _Mismatch(expected, v)

    return union


def _at(conv: Converter, value: Any, message_type: str, path: str) -> Any:
    """Convert an array item or object value, naming its path on a mismatch."""
    try:
        return conv(value, message_type, path)
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
        if spec.wire not in obj:
            if spec.required:
                raise MissingField(message_type, prefix + spec.wire)
            continue
        raw = obj[spec.wire]
        try:
            value = spec.convert(raw, message_type, prefix + spec.wire)
        except _Mismatch as exc:
            where = exc.path or prefix + spec.wire
            raise InvalidField(message_type, where, exc.expected, exc.got) from None
        if value is None and not spec.required:
            extras[spec.wire] = None  # keep an explicit null so re-encoding is lossless
        if spec.lo is not None or spec.hi is not None:
            _check_range(spec, value, message_type, prefix + spec.wire)
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
        out[spec.wire] = value if spec.plain else _encode(value)
    for key, value in payload.extras.items():
        if key not in out:
            out[key] = _encode(value)
    return out
