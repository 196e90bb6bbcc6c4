"""Validation helpers shared by the scenario model: each raises
:class:`~wsquake.scenarios.exceptions.ScenarioError` naming ``<owner><key>``."""

from __future__ import annotations

import enum
import math
from typing import Any

from wsquake.scenarios.exceptions import ScenarioError

__all__ = ["check_enum", "check_int", "check_num", "check_strs"]

def check_num(owner: str, key: str, value: object, *, minimum: float | None = None,
         strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{owner}{key}: must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ScenarioError(f"{owner}{key}: must be finite, got {value!r}")
    if minimum is not None:
        if strict and not number > minimum:
            raise ScenarioError(f"{owner}{key}: must be > {minimum:g}, got {value!r}")
        if not strict and number < minimum:
            raise ScenarioError(f"{owner}{key}: must be >= {minimum:g}, got {value!r}")
    return number


def check_int(owner: str, key: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{owner}{key}: must be an integer, got {value!r}")
    if value < minimum:
        raise ScenarioError(f"{owner}{key}: must be >= {minimum}, got {value!r}")
    return value


def check_enum(owner: str, key: str, cls: type[enum.StrEnum], value: object) -> Any:
    try:
        return cls(value)  # type: ignore[arg-type]
    except ValueError:
        known = " | ".join(m.value for m in cls)
        raise ScenarioError(f"{owner}{key}: expected one of {known}, got {value!r}") from None


def check_strs(owner: str, key: str, value: object, *, allow_empty: bool = True) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, tuple | list):
        raise ScenarioError(f"{owner}{key}: must be a tuple of strings, got {value!r}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise ScenarioError(f"{owner}{key}[{i}]: must be a non-empty string, got {item!r}")
    if not allow_empty and not value:
        raise ScenarioError(f"{owner}{key}: must not be empty")
    return tuple(value)

