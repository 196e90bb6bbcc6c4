"""Toxiproxy 2.12.0's built-in toxics as pure stages (spec/TOXIPROXY.md §2.3, §2.4).

Each class mirrors ``toxics/<name>.go``'s ``Pipe`` loop, with Go's sleeps turned into
``Emit.at`` / ``CloseLink.at`` times computed from ``now``. Attributes are JSON integers
only (``100.0``, ``"100"``, ``true`` are rejected); unknown keys are ignored and omitted
ones are 0, as Go's decoder does. Where Toxiproxy crashes (negative ``rate``, bad slicer
sizes, negative ``limit_data`` bytes) the validator answers 400 instead (spec §2.5).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Mapping
from typing import Any

from wsquake.faults.toxics.base import (
    Action,
    CloseLink,
    Emit,
    InvalidAttributes,
    Stage,
)
from wsquake.faults.toxics.registry import ToxicKind

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


def int_attribute(kind: str, name: str, value: Any) -> int:
    """A Go ``int`` attribute: a JSON integer literal in int64 range, nothing else."""
    if type(value) is not int or not INT64_MIN <= value <= INT64_MAX:
        raise InvalidAttributes(
            f"{kind}: attribute {name!r} must be a JSON integer, got {json.dumps(value)}"
        )
    return value


def int_validator(
    kind: str, names: tuple[str, ...], check: Callable[[dict[str, int]], None] | None = None
) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """Validator for a built-in type: listed integer attributes, others ignored, default 0."""

    def validate(raw: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            raise InvalidAttributes(f"{kind}: attributes must be a JSON object")
        out = {n: int_attribute(kind, n, raw[n]) if raw.get(n) is not None else 0 for n in names}
        if check is not None:
            check(out)
        return dict(out)

    return validate


class _Stage:
    """Defaults for the optional parts of :class:`~wsquake.faults.toxics.base.Stage`."""

    __slots__ = ()

    def start(self, now: float) -> list[Action]:
        return []

    def data(self, chunk: bytes, stamp: float, now: float) -> list[Action]:
        return [Emit(chunk, now, stamp)]

    def eof(self, now: float) -> list[Action]:
        return []

    def timer(self, now: float) -> list[Action]:
        return []

    def deadline(self) -> float | None:
        return None

    def flush(self, now: float) -> list[Action]:
        return []


class NoopStage(_Stage):
    __slots__ = ()


class LatencyStage(_Stage):
    """Each chunk leaves at ``stamp + latency + U[-jitter, jitter)`` ms (pipelined)."""

    __slots__ = ("latency", "jitter", "rng")

    def __init__(self, latency: int, jitter: int, rng: random.Random) -> None:
        self.latency, self.jitter, self.rng = latency, jitter, rng

    def data(self, chunk: bytes, stamp: float, now: float) -> list[Action]:
        delay = self.latency
        if self.jitter > 0:
            delay += self.rng.randrange(self.jitter * 2) - self.jitter
        at = stamp + delay / 1000 if delay > 0 else stamp
        return [Emit(chunk, at, at)]


class BandwidthStage(_Stage):
    """``len/rate`` ms per chunk; big chunks in ``rate*100``-byte slices every 100 ms."""

    __slots__ = ("rate", "free_at")

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.free_at = -math.inf

    def data(self, chunk: bytes, stamp: float, now: float) -> list[Action]:
        if self.rate <= 0:
            # Go emits empty slices every 100 ms forever: a lossless stall until interrupted.
            return [Emit(chunk, math.inf, stamp)]
        t = max(now, self.free_at)
        out: list[Action] = []
        step = self.rate * 100
        view = chunk
        while len(view) > step:
            t += 0.1
            out.append(Emit(view[:step], t, stamp))
            view = view[step:]
        t += len(view) / self.rate / 1000
        out.append(Emit(view, t, stamp))
        self.free_at = t
        return out


class SlowCloseStage(_Stage):
    """Data unchanged; the end is postponed by ``delay`` ms."""

    __slots__ = ("delay",)

    def __init__(self, delay: int) -> None:
        self.delay = delay

    def eof(self, now: float) -> list[Action]:
        return [CloseLink(now + max(self.delay, 0) / 1000)]


class TimeoutStage(_Stage):
    """Drops everything; closes ``timeout`` ms after the last chunk or stage start."""

    __slots__ = ("timeout",)

    def __init__(self, timeout: int) -> None:
        self.timeout = timeout

    def _arm(self, now: float) -> list[Action]:
        return [CloseLink(now + self.timeout / 1000)] if self.timeout > 0 else []

    def start(self, now: float) -> list[Action]:
        return self._arm(now)

    def data(self, chunk: bytes, stamp: float, now: float) -> list[Action]:
        return self._arm(now)

    def eof(self, now: float) -> list[Action]:
        return [CloseLink(now)]


class ResetPeerStage(_Stage):
    """The first input (discarded) or EOF, then ``timeout`` ms, then close (RST if armed)."""

    __slots__ = ("timeout", "fired")

    def __init__(self, timeout: int) -> None:
        self.timeout = timeout
        self.fired = False

    def _fire(self, now: float) -> list[Action]:
        if self.fired:
            return []
        self.fired = True
        return [CloseLink(now + max(self.timeout, 0) / 1000)]

    def data(self, chunk: bytes, stamp: float, now: float) -> list[Action]:
        return self._fire(now)

    def eof(self, now: float) -> list[Action]:
        return self._fire(now)


class SlicerStage(_Stage):
    """Recursive halving with random offsets; ``delay`` µs after each piece."""

    __slots__ = ("average", "variation", "delay", "rng", "free_at")

    def __init__(self, average: int, variation: int, delay_us: int, rng: random.Random) -> None:
        self.average, self.variation, self.rng = average, variation, rng
        self.delay = max(delay_us, 0) / 1_000_000
        self.free_at = -math.inf

    def bounds(self, start: int, end: int) -> list[int]:
        """Piece boundaries as Go's ``chunk()``: ``[s0, e0, s1, e1, …]``."""
        if (end - start) - self.average <= self.variation:
            return [start, end]
        offset = self.rng.randrange(self.variation * 2) - self.variation if self.variation else 0
        mid = start + (end - start) // 2 + offset
        return self.bounds(start, mid) + self.bounds(mid, end)

    def data(self, chunk: bytes, stamp: float, now: float) -> list[Action]:
        b = self.bounds(0, len(chunk))
        t = max(now, self.free_at)
        out: list[Action] = []
        for i in range(0, len(b), 2):
            out.append(Emit(chunk[b[i] : b[i + 1]], t, stamp))
            t += self.delay
        self.free_at = t
        return out


class LimitDataStage(_Stage):
    """Forwards ``bytes`` bytes counted since the toxic was added, then closes."""

    __slots__ = ("limit", "state")

    def __init__(self, limit: int, state: dict[str, Any]) -> None:
        self.limit, self.state = limit, state
        state.setdefault("bytes_transmitted", 0)

    def data(self, chunk: bytes, stamp: float, now: float) -> list[Action]:
        remaining = self.limit - self.state["bytes_transmitted"]
        if remaining < len(chunk):
            chunk = chunk[: max(remaining, 0)]
        out: list[Action] = []
        if chunk:
            out.append(Emit(chunk, now, stamp))
            self.state["bytes_transmitted"] += len(chunk)
            remaining = self.limit - self.state["bytes_transmitted"]
        if remaining <= 0:
            out.append(CloseLink(now))
        return out


# -- kinds ----------------------------------------------------------------------------


def _check_bandwidth(a: dict[str, int]) -> None:
    if a["rate"] < 0:
        raise InvalidAttributes(f"bandwidth: attribute 'rate' must be >= 0, got {a['rate']}")


def _check_slicer(a: dict[str, int]) -> None:
    avg, var = a["average_size"], a["size_variation"]
    if avg <= 0:
        raise InvalidAttributes(f"slicer: attribute 'average_size' must be > 0, got {avg}")
    if not 0 <= var < avg:
        raise InvalidAttributes(
            f"slicer: attribute 'size_variation' must be >= 0 and < average_size ({avg}), "
            f"got {var}"
        )


def _check_limit(a: dict[str, int]) -> None:
    if a["bytes"] < 0:
        raise InvalidAttributes(f"limit_data: attribute 'bytes' must be >= 0, got {a['bytes']}")


def _noop(attributes: Mapping[str, Any], rng: random.Random, *, stream: str, state: Any) -> Stage:
    return NoopStage()


def _latency(
    attributes: Mapping[str, Any], rng: random.Random, *, stream: str, state: Any
) -> Stage:
    return LatencyStage(attributes["latency"], attributes["jitter"], rng)


def _bandwidth(
    attributes: Mapping[str, Any], rng: random.Random, *, stream: str, state: Any
) -> Stage:
    return BandwidthStage(attributes["rate"])


def _slow_close(
    attributes: Mapping[str, Any], rng: random.Random, *, stream: str, state: Any
) -> Stage:
    return SlowCloseStage(attributes["delay"])


def _timeout(
    attributes: Mapping[str, Any], rng: random.Random, *, stream: str, state: Any
) -> Stage:
    return TimeoutStage(attributes["timeout"])


def _reset_peer(
    attributes: Mapping[str, Any], rng: random.Random, *, stream: str, state: Any
) -> Stage:
    return ResetPeerStage(attributes["timeout"])


def _slicer(attributes: Mapping[str, Any], rng: random.Random, *, stream: str, state: Any) -> Stage:
    return SlicerStage(
        attributes["average_size"], attributes["size_variation"], attributes["delay"], rng
    )


def _limit_data(
    attributes: Mapping[str, Any], rng: random.Random, *, stream: str, state: Any
) -> Stage:
    return LimitDataStage(attributes["bytes"], state)


BUILTIN_KINDS: list[ToxicKind] = [
    ToxicKind("noop", int_validator("noop", ()), _noop),
    ToxicKind("latency", int_validator("latency", ("latency", "jitter")), _latency, pipelined=True),
    ToxicKind("bandwidth", int_validator("bandwidth", ("rate",), _check_bandwidth), _bandwidth),
    ToxicKind("slow_close", int_validator("slow_close", ("delay",)), _slow_close),
    ToxicKind(
        "timeout", int_validator("timeout", ("timeout",)), _timeout, closes_on_removal=True
    ),
    ToxicKind(
        "reset_peer", int_validator("reset_peer", ("timeout",)), _reset_peer, arms_reset=True
    ),
    ToxicKind(
        "slicer",
        int_validator("slicer", ("average_size", "size_variation", "delay"), _check_slicer),
        _slicer,
    ),
    ToxicKind("limit_data", int_validator("limit_data", ("bytes",), _check_limit), _limit_data),
]
