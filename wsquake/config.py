"""Generic settings loader: nested frozen dataclasses from TOML, then env, then overrides.

Precedence (lowest first): dataclass defaults < TOML file < ``WSQUAKE_*`` environment <
explicit overrides. Every value is checked against the field's annotation; a bad value or
an unknown key raises :class:`ConfigError` naming the dotted key, e.g.
``timings.app_grace_s: expected a number >= 0, got "abc"``.

Field metadata understood by the loader (``dataclasses.field(metadata=...)``):

- ``key``: the dotted path of the value in the file and env, if it differs from the
  field's position (``CloudSettings.jwt_secret`` lives at ``auth.jwt_secret``).
- ``min`` / ``max``: numeric bounds (inclusive).
- ``choices``: allowed values for a ``str`` field.

Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``X | None``, ``Literal``,
``Enum`` subclasses, ``tuple[str, ...]``, nested dataclasses, ``tuple[Dataclass, ...]``
(TOML arrays of tables; not settable from env).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

__all__ = ["ConfigError", "build", "load_settings", "read_toml"]

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ValueError):
    """A settings value is missing, unknown or of the wrong type; the message names the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem


def _show(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _number_bounds(meta: Mapping[str, Any]) -> str:
    parts = []
    if "min" in meta:
        parts.append(f">= {meta['min']}")
    if "max" in meta:
        parts.append(f"<= {meta['max']}")
    return (" " + " and ".join(parts)) if parts else ""


def _coerce(key: str, tp: Any, value: Any, meta: Mapping[str, Any], from_env: bool) -> Any:
    """Check/convert one value against an annotation; raise ConfigError naming ``key``."""
    tp, optional = _unwrap_optional(tp)
    if value is None or (from_env and optional and value == ""):
        if optional:
            return None
        raise ConfigError(key, "a value is required")
    origin = get_origin(tp)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if from_env and isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ConfigError(key, f"expected true or false, got {_show(value)}")
    if tp is int or tp is float:
        kind = "an integer" if tp is int else "a number"
        bounds = _number_bounds(meta)
        number: Any = value
        if from_env and isinstance(value, str):
            try:
                number = int(value) if tp is int else float(value)
            except ValueError:
                raise ConfigError(key, f"expected {kind}{bounds}, got {_show(value)}") from None
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise ConfigError(key, f"expected {kind}{bounds}, got {_show(value)}")
        if tp is int and not isinstance(number, int):
            raise ConfigError(key, f"expected {kind}{bounds}, got {_show(value)}")
        if number != number or number in (float("inf"), float("-inf")):
            raise ConfigError(key, f"expected {kind}{bounds}, got {_show(value)}")
        if ("min" in meta and number < meta["min"]) or ("max" in meta and number > meta["max"]):
            raise ConfigError(key, f"expected {kind}{bounds}, got {_show(value)}")
        return tp(number)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {_show(value)}")
        choices = meta.get("choices")
        if choices and value not in choices:
            allowed = " | ".join(map(str, choices))
            raise ConfigError(key, f"expected one of {allowed}, got {_show(value)}")
        return value
    if origin is typing.Literal:
        allowed_values = get_args(tp)
        if value not in allowed_values:
            allowed = " | ".join(map(str, allowed_values))
            raise ConfigError(key, f"expected one of {allowed}, got {_show(value)}")
        return value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            allowed = " | ".join(str(m.value) for m in tp)
            raise ConfigError(key, f"expected one of {allowed}, got {_show(value)}") from None
    if origin is tuple:
        args = get_args(tp)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise ConfigError(key, f"unsupported annotation {tp!r}")  # programming error
        item_tp = args[0]
        if from_env and isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(key, f"expected a list, got {_show(value)}")
        if _is_dataclass_type(item_tp):
            return tuple(
                build(item_tp, item, prefix=f"{key}[{i}]") for i, item in enumerate(value)
            )
        return tuple(
            _coerce(f"{key}[{i}]", item_tp, item, {}, from_env) for i, item in enumerate(value)
        )
    if _is_dataclass_type(tp):
        if isinstance(value, tp):
            return value
        return build(tp, value, prefix=key)
    raise ConfigError(key, f"unsupported annotation {tp!r}")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _field_paths(cls: type) -> dict[str, tuple[str, ...]]:
    """Field name -> its path (relative to the class) in the file."""
    paths: dict[str, tuple[str, ...]] = {}
    for f in dataclasses.fields(cls):
        key = f.metadata.get("key")
        paths[f.name] = tuple(key.split(".")) if key else (f.name,)
    return paths


def build(cls: type[T], data: Any, *, prefix: str = "") -> T:
    """Build dataclass ``cls`` from a (TOML-shaped) mapping; unknown keys are rejected."""
    if not isinstance(data, Mapping):
        raise ConfigError(prefix, f"expected a table, got {_show(data)}")
    hints = get_type_hints(cls)
    paths = _field_paths(cls)
    consumed: set[tuple[str, ...]] = set()
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        path = paths[f.name]
        node: Any = data
        found = True
        for part in path:
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            else:
                found = False
                break
        if not found:
            continue
        consumed.add(path)
        key = _join(prefix, ".".join(path))
        kwargs[f.name] = _coerce(key, hints[f.name], node, f.metadata, from_env=False)
    _reject_unknown(data, consumed, prefix, ())
    try:
        return cls(**kwargs)
    except ConfigError as exc:  # raised by __post_init__ with a key relative to cls
        if not prefix:
            raise
        raise ConfigError(_join(prefix, exc.key), exc.problem) from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(prefix, str(exc)) from exc


def _reject_unknown(
    data: Mapping[str, Any], consumed: set[tuple[str, ...]], prefix: str, at: tuple[str, ...]
) -> None:
    for name, value in data.items():
        here = (*at, name)
        if here in consumed:
            continue
        if any(p[: len(here)] == here for p in consumed) and isinstance(value, Mapping):
            _reject_unknown(value, consumed, prefix, here)
            continue
        raise ConfigError(_join(prefix, ".".join(here)), "unknown key")


def _env_targets(cls: type, path: tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    """ENV_SUFFIX -> path of every scalar-ish field reachable through nested dataclasses."""
    out: dict[str, tuple[str, ...]] = {}
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        fpath = path + _field_paths(cls)[f.name]
        tp, _ = _unwrap_optional(hints[f.name])
        if _is_dataclass_type(tp):
            out.update(_env_targets(tp, fpath))
            continue
        if get_origin(tp) is tuple and _is_dataclass_type(get_args(tp)[0]):
            continue
        out["_".join(fpath).upper()] = fpath
    return out


def _set_path(data: dict[str, Any], path: tuple[str, ...], value: Any, key: str) -> None:
    node = data
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(key, f"cannot set below a non-table value {_show(child)}")
        node = child
    node[path[-1]] = value


def _lookup_field(cls: type, path: tuple[str, ...]) -> tuple[Any, Mapping[str, Any]] | None:
    """Annotation and metadata of the field at a file path, or None if there is none."""
    hints = get_type_hints(cls)
    paths = _field_paths(cls)
    for f in dataclasses.fields(cls):
        fpath = paths[f.name]
        if path[: len(fpath)] != fpath:
            continue
        rest = path[len(fpath) :]
        tp, _ = _unwrap_optional(hints[f.name])
        if not rest:
            return hints[f.name], f.metadata
        if _is_dataclass_type(tp):
            return _lookup_field(tp, rest)
    return None


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file; a missing or unparsable file is a ConfigError naming it."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError("", f"config file not found: {p}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{p}: invalid TOML: {exc}") from exc


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = v


def load_settings(
    cls: type[T],
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    env_prefix: str = "WSQUAKE_",
    overrides: Mapping[str, Any] | None = None,
) -> T:
    """Defaults < TOML at ``path`` < ``{env_prefix}SECTION_KEY`` env < ``overrides``.

    ``overrides`` keys are dotted file paths (``"timings.time_scale"``) or the same with
    ``__`` instead of dots (handy as keyword arguments). Env values are strings converted
    by the field's type; lists are comma-separated. Env variables with the prefix that
    name no setting are ignored (other areas share the prefix).
    """
    data: dict[str, Any] = read_toml(path) if path is not None else {}
    env = os.environ if env is None else env
    targets = _env_targets(cls)
    for name, raw in env.items():
        if not name.startswith(env_prefix):
            continue
        fpath = targets.get(name[len(env_prefix) :])
        if fpath is None:
            continue
        key = ".".join(fpath)
        found = _lookup_field(cls, fpath)
        assert found is not None
        tp, meta = found
        _set_path(data, fpath, _coerce(key, tp, raw, meta, from_env=True), key)
    for raw_key, value in (overrides or {}).items():
        fpath = tuple(raw_key.replace("__", ".").split("."))
        key = ".".join(fpath)
        if _lookup_field(cls, fpath) is None:
            raise ConfigError(key, "unknown key")
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            value = [dataclasses.asdict(v) for v in value]
        if isinstance(value, Mapping) and isinstance(_get_path(data, fpath), dict):
            _merge(_get_path(data, fpath), value)
        else:
            _set_path(data, fpath, value, key)
    return build(cls, data)


def _get_path(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = data
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node
