"""The contract between the proxy's pump and every toxic: pure decisions, no I/O.

A *link* is one direction of one proxied connection. Each toxic in a link's chain gets
one :class:`Stage` per link. The pump owns the sockets, the clock and the timers; a stage
only answers "given this input at this time, what should happen", as a list of
:data:`Action` values. The pump obeys them in order:

- :class:`Emit` forwards bytes to the next stage (or the destination socket) no earlier
  than ``at``; emits from one stage always leave in the order they were returned, so a
  later emit with an earlier ``at`` waits behind its predecessor. ``stamp`` is the read
  stamp the next stage sees (latency toxics advance it, so stacked latencies add up).
- :class:`CloseLink` ends the whole connection at ``at`` (FIN, or RST when armed); a later
  :class:`CloseLink` replaces an earlier one that has not fired yet.
- :class:`CancelClose` disarms a pending :class:`CloseLink` of this stage.

Stages never read a clock: every call gets ``now`` (``time.monotonic()`` seconds), and
randomness comes from the ``rng`` the factory receives. Then tests can replay a stage
with no sockets at all, and a seeded proxy is reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Emit:
    data: bytes
    at: float
    stamp: float


@dataclass(frozen=True, slots=True)
class CloseLink:
    at: float


@dataclass(frozen=True, slots=True)
class CancelClose:
    pass


Action = Emit | CloseLink | CancelClose


class Stage(Protocol):
    """One toxic acting on one link. Every method is pure apart from the stage's own state."""

    def start(self, now: float) -> list[Action]:
        """The stage (re)starts: on connection start, after an update, after a re-splice."""

    def data(self, chunk: bytes, stamp: float, now: float) -> list[Action]:
        """A chunk arrived from the previous stage; ``stamp`` is its read stamp."""

    def eof(self, now: float) -> list[Action]:
        """The source ended. Returning no :class:`CloseLink` means "close after my queued emits"."""

    def timer(self, now: float) -> list[Action]:
        """Called once :meth:`deadline` has passed."""

    def deadline(self) -> float | None:
        """The next time the stage wants :meth:`timer`, or ``None``."""

    def flush(self, now: float) -> list[Action]:
        """The toxic is being removed: hand over everything held, to leave at once."""


class StageFactory(Protocol):
    """Builds a link's stage from the toxic's validated attributes.

    ``state`` is a mutable dict owned by the pump, one per (link, toxic), that survives
    updates of the toxic (``limit_data``'s byte counter, the ``x-ws-*`` message counters).
    When an ``x-ws-*`` toxic is added to a live link, the pump first puts a copy of the
    link's passive output WebSocket tracker under ``state["ws_tracker"]`` so the new stage
    starts frame-aligned (spec/TOXIPROXY.md §3.2).
    """

    def __call__(
        self, attributes: Mapping[str, Any], rng: random.Random, *, stream: str, state: Any
    ) -> Stage: ...
