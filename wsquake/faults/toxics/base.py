"""The contract between the proxy's pump and every toxic: pure decisions, no I/O.

A *link* is one direction of one proxied connection. Each toxic in a link's chain gets
one :class:`Stage` per link. The pump owns the sockets, the clock and the timers; a stage
only answers "given this input at this time, what should happen", as a list of
:data:`Action` values. The pump obeys them in order:

- :class:`Emit` forwards bytes to the next stage (or the destination socket) no earlier
  than ``at``; emits from one stage always leave in the order they were returned, so a
  later emit with an earlier ``at`` waits behind its predecessor. ``stamp`` is the read
  stamp the next stage sees (latency toxics advance it, so stacked latencies add up).
  ``at = math.inf`` means "hold until this stage is interrupted": the pump keeps the
  chunk (it counts for back-pressure) and releases it at once when the stage restarts
  (update, neighbour spliced) or is removed (``bandwidth`` with ``rate 0`` uses this).
  An emit may carry bytes the stage made itself (an injected WebSocket close frame).
- :class:`CloseLink` ends the stage's output at ``at``: emits already due by then leave,
  later ones are dropped, then the end travels down the chain (following stages drain
  what they hold) and the destination is closed, which ends the whole connection (FIN,
  or RST when armed by ``reset_peer``). A later :class:`CloseLink` replaces an earlier
  one that has not fired yet; ``at = math.inf`` never fires.
- :class:`CancelClose` disarms a pending :class:`CloseLink` of this stage.

After a source EOF reaches a stage (:meth:`Stage.eof`), the pump passes the end on once
the stage's queued emits have left, unless the stage returned a :class:`CloseLink`.
Input arriving at a stage whose output has ended is discarded.

Lifecycle as the pump drives it: a stage is built by its kind's factory and
:meth:`Stage.start` is called when the connection starts, when the toxic is updated, and
when a neighbour is spliced in right after it or removed right after it (a *restart*:
the old stage's :meth:`Stage.flush` emits are queued at once behind its pending emits,
the toxicity draw is redone, a new stage is built from the same ``state`` dict and
started; pending :class:`CloseLink` timers are cancelled). On removal the stage's pending
emits and its :meth:`Stage.flush` emits go on at once, nothing is lost.

Stages never read a clock: every call gets ``now`` (``time.monotonic()`` seconds, the
event loop's clock), and randomness comes from the ``rng`` the factory receives (one RNG
per (seed, proxy, connection serial, direction, toxic name), also used for the toxicity
draw). Then tests can replay a stage with no sockets at all, and a seeded proxy is
reproducible.

Validation errors: a kind's attribute validator raises :class:`InvalidAttributes` (any
``ValueError`` is accepted); the HTTP API answers 400 ``bad request body: <message>``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class InvalidAttributes(ValueError):
    """A toxic's attributes are invalid; the message names the attribute."""


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
        """Interrupted (restart or removal): hand over held bytes as emits, to leave at once.

        Only :class:`Emit` actions are used here; closes are ignored (a kind whose removal
        closes the connection says so with ``ToxicKind.closes_on_removal``).
        """


class StageFactory(Protocol):
    """Builds a link's stage from the toxic's validated attributes.

    ``stream`` is the link's direction, ``"upstream"`` or ``"downstream"`` (lower case).
    ``state`` is a mutable dict owned by the pump, one per (link, toxic), that survives
    updates of the toxic (``limit_data``'s byte counter, the ``x-ws-*`` message counters).
    When a kind with ``ws_sync`` (every ``x-ws-*`` type) is added to a live link, the pump
    first puts a copy of the link's passive output tracker
    (``wsquake.faults.wsframes.WsTracker(stream)`` fed with every byte written to the
    destination) under ``state["ws_tracker"]`` so the new stage starts frame-aligned
    (spec/TOXIPROXY.md §3.2). At connection start there is no such key: the stage sees the
    link from its first byte. While a ``ws_sync`` toxic's toxicity draw misses (no stage),
    the pump feeds every input byte of that slot to ``state["ws_tracker"]`` (creating a
    ``WsTracker(stream)`` there if absent), so a stage built by a later hit starts
    frame-aligned too.
    """

    def __call__(
        self, attributes: Mapping[str, Any], rng: random.Random, *, stream: str, state: Any
    ) -> Stage: ...
