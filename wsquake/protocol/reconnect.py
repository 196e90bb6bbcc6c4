"""Client reconnect policies (spec §10) as pure values: no clock, no sleeping.

Each policy answers "how long to wait before the next attempt" (``None`` = give up) from
a failure/attempt count and an injected :class:`random.Random`, so a run is reproducible
from its seed. Every duration field ends in ``_s`` (seconds) and :meth:`scaled` multiplies
all of them, which is how ``time_scale`` shrinks the real timings for fast suites.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, Self

from wsquake.protocol.codes import CloseCode, CloseReason
from wsquake.protocol.exceptions import InvalidPolicy, UnknownPolicy

__all__ = [
    "POLICY_NAMES",
    "AndroidPolicy",
    "BackoffKind",
    "CloseDecision",
    "CustomPolicy",
    "IosPolicy",
    "ReconnectPolicy",
    "SdkAppPolicy",
    "policy_by_name",
]


class CloseDecision(StrEnum):
    """What the SDK's ``AppSession`` does on a close (§10.1)."""

    RECONNECT = "reconnect"
    STOP = "stop"
    """No reconnect (1000, 1001, 1008 or ``"App stopped"``)."""
    TERMINATED = "terminated"
    """``"User session ended"``: no reconnect, and ``AppServer`` calls ``onStop``."""


class BackoffKind(StrEnum):
    FIXED = "fixed"
    EXPONENTIAL = "exponential"


class ReconnectPolicy(Protocol):
    """What every policy offers. ``n`` is policy-specific: the SDK counts attempts from
    1, the glasses clients count consecutive failures from 0."""

    @property
    def name(self) -> str: ...

    def delay(self, n: int, rng: random.Random | None = None) -> float | None: ...

    def scaled(self, factor: float) -> Self: ...


class _Scalable:
    """Mixin: validation of ``*_s`` fields and :meth:`scaled`."""

    __slots__ = ()

    def _check(self) -> None:
        name = getattr(self, "name", type(self).__name__)
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.name.endswith("_s") or f.name in ("factor",):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise InvalidPolicy(name, f.name, f"must be a number, got {value!r}")
                if not math.isfinite(value) or value < 0:
                    raise InvalidPolicy(name, f.name, f"must be finite and >= 0, got {value!r}")

    def scaled(self, factor: float) -> Self:
        """A copy with every duration (``*_s``) multiplied by ``factor`` (> 0)."""
        if isinstance(factor, bool) or not isinstance(factor, int | float):
            raise InvalidPolicy(type(self).__name__, "time_scale", f"must be a number: {factor!r}")
        if not math.isfinite(factor) or factor <= 0:
            raise InvalidPolicy(type(self).__name__, "time_scale", f"must be > 0, got {factor!r}")
        changes = {
            f.name: getattr(self, f.name) * factor
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if f.name.endswith("_s")
        }
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def _power(base: float, factor: float, n: int) -> float:
    """``base * factor**n`` without OverflowError for long outages."""
    if base == 0:
        return 0.0
    try:
        return base * factor**n
    except OverflowError:
        return math.inf


def _check_count(policy: str, key: str, value: Any, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidPolicy(policy, key, f"must be an integer >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class SdkAppPolicy(_Scalable):
    """Upstream SDK ``AppSession`` (§10.1). Attempt ``n`` (1-based) waits
    ``base_delay_s * 2**(n-1)``; after ``max_attempts`` the session gives up with
    close 4000 ``"Maximum reconnection attempts exceeded"``."""

    max_attempts: int = 3
    base_delay_s: float = 1.0
    ack_timeout_s: float = 5.0
    name: str = "sdk_2_1"

    GIVE_UP_CODE = CloseCode.MAX_RECONNECTS
    GIVE_UP_REASON = CloseReason.MAX_RECONNECTS

    def __post_init__(self) -> None:
        self._check()
        _check_count(self.name, "max_attempts", self.max_attempts)

    def delay(self, n: int, rng: random.Random | None = None) -> float | None:
        """Wait before attempt ``n`` (1-based), or ``None`` once attempts are exhausted."""
        if n < 1:
            raise ValueError(f"SDK attempt numbers start at 1, got {n}")
        if n > self.max_attempts:
            return None
        return self.base_delay_s * 2.0 ** (n - 1)

    def delays(self) -> list[float]:
        """The whole schedule: ``[1, 2, 4]`` by default."""
        return [self.base_delay_s * 2.0**i for i in range(self.max_attempts)]

    @staticmethod
    def close_decision(code: int | None, reason: str | None = "") -> CloseDecision:
        """§10.1: "User session ended" terminates; 1000/1001/1008 or "App stopped" stop;
        anything else (1005, 1006, 1011, 4xxx, no code) reconnects."""
        text = reason or ""
        if CloseReason.USER_SESSION_ENDED.value in text:
            return CloseDecision.TERMINATED
        if code in (CloseCode.NORMAL, CloseCode.GOING_AWAY, CloseCode.POLICY_VIOLATION):
            return CloseDecision.STOP
        if CloseReason.APP_STOPPED.value in text:
            return CloseDecision.STOP
        return CloseDecision.RECONNECT


@dataclass(frozen=True, slots=True)
class AndroidPolicy(_Scalable):
    """Upstream Android glasses client (§10.2): ``min(base * factor**n + U(0, jitter),
    cap)`` seconds, ``n`` consecutive failures from 0 (reset on open); unlimited."""

    base_s: float = 1.0
    factor: float = 1.5
    jitter_s: float = 1.0
    cap_s: float = 30.0
    init_delay_s: float = 1.0
    client_ping_interval_s: float = 30.0
    name: str = "android"

    def __post_init__(self) -> None:
        self._check()
        if self.factor < 1:
            raise InvalidPolicy(self.name, "factor", f"must be >= 1, got {self.factor!r}")

    def delay(self, n: int, rng: random.Random | None = None) -> float:
        if n < 0:
            raise ValueError(f"failure count must be >= 0, got {n}")
        if rng is None:
            raise ValueError("AndroidPolicy.delay needs an rng for its jitter")
        raw = _power(self.base_s, self.factor, n)
        return min(raw + rng.uniform(0.0, self.jitter_s), self.cap_s)

    def backoff(self, rng: random.Random) -> Iterator[float]:
        """Delays for failures 0, 1, 2, … (endless)."""
        n = 0
        while True:
            yield self.delay(n, rng)
            n += 1


@dataclass(frozen=True, slots=True)
class IosPolicy(_Scalable):
    """Upstream iOS glasses client (§10.3): a fixed interval, unlimited attempts."""

    interval_s: float = 3.0
    init_delay_s: float = 2.0
    client_ping_interval_s: float = 0.0
    name: str = "ios"

    def __post_init__(self) -> None:
        self._check()

    def delay(self, n: int, rng: random.Random | None = None) -> float:
        if n < 0:
            raise ValueError(f"failure count must be >= 0, got {n}")
        return self.interval_s


@dataclass(frozen=True, slots=True)
class CustomPolicy(_Scalable):
    """A project policy: fixed or exponential (``base * factor**n``) with ``U(0, jitter)``,
    capped at ``cap_s``; ``max_attempts=None`` retries forever."""

    kind: BackoffKind = BackoffKind.EXPONENTIAL
    base_s: float = 1.0
    factor: float = 2.0
    jitter_s: float = 0.0
    cap_s: float = 30.0
    max_attempts: int | None = None
    init_delay_s: float = 0.0
    client_ping_interval_s: float = 0.0
    name: str = "custom"

    def __post_init__(self) -> None:
        kind: object = self.kind  # may arrive as a plain string from a settings file
        if not isinstance(kind, BackoffKind):
            try:
                object.__setattr__(self, "kind", BackoffKind(str(kind)))
            except ValueError:
                raise InvalidPolicy(
                    self.name, "kind", f"must be 'fixed' or 'exponential', got {self.kind!r}"
                ) from None
        self._check()
        if self.factor < 1:
            raise InvalidPolicy(self.name, "factor", f"must be >= 1, got {self.factor!r}")
        _check_count(self.name, "max_attempts", self.max_attempts, optional=True)

    def delay(self, n: int, rng: random.Random | None = None) -> float | None:
        """Wait after ``n`` consecutive failures (0-based); ``None`` past ``max_attempts``."""
        if n < 0:
            raise ValueError(f"failure count must be >= 0, got {n}")
        if self.max_attempts is not None and n >= self.max_attempts:
            return None
        if self.kind is BackoffKind.FIXED:
            raw = self.base_s
        else:
            raw = _power(self.base_s, self.factor, n)
        if self.jitter_s:
            if rng is None:
                raise ValueError("CustomPolicy with jitter needs an rng")
            raw += rng.uniform(0.0, self.jitter_s)
        return min(raw, self.cap_s)


_POLICIES: dict[str, tuple[type[Any], dict[str, Any]]] = {
    "sdk_2_1": (SdkAppPolicy, {"name": "sdk_2_1"}),
    "sdk_2_0": (SdkAppPolicy, {"name": "sdk_2_0"}),
    "android": (AndroidPolicy, {}),
    "ios": (IosPolicy, {}),
    "custom": (CustomPolicy, {}),
}
POLICY_NAMES: tuple[str, ...] = tuple(_POLICIES)


def policy_by_name(name: str, **overrides: Any) -> Any:
    """Build a policy by profile name (``sdk_2_1``, ``sdk_2_0``, ``android``, ``ios``,
    ``custom``) with field overrides; a bad name or key raises a :class:`PolicyError`."""
    try:
        cls, defaults = _POLICIES[name]
    except KeyError:
        raise UnknownPolicy(name, POLICY_NAMES) from None
    known = {f.name for f in dataclasses.fields(cls)} - {"name"}
    for key in overrides:
        if key not in known:
            raise InvalidPolicy(name, key, f"is not a setting (known: {', '.join(sorted(known))})")
    return cls(**{**defaults, **overrides})
