"""The pump of one link (one direction of one connection): obeys the toxics' stages.

No tasks: the source protocol calls :meth:`Link.feed` from ``data_received``, and the
pump drives the chain synchronously, arming one ``loop.call_at`` timer per stage for
emits in the future, pending closes and stage deadlines. A link with no toxics is a plain
``read -> write`` (plus a passive WebSocket tracker while the stream may be WebSocket).

Back-pressure: a stage whose queue of pending emits exceeds its limit (1024 chunks for
pipelined kinds such as ``latency``, else 2) pauses reading the source, as Toxiproxy's
bounded channels do; so does the destination's full write buffer (``pause_writing``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from wsquake.faults.toxics.base import Action, CancelClose, CloseLink, Emit, Stage
from wsquake.faults.toxics.registry import ToxicKind
from wsquake.faults.wsframes import Phase, WsTracker

logger = logging.getLogger(__name__)

PIPELINED_LIMIT = 1024
#: Toxiproxy reads 32 KiB at a time; bigger socket reads are split before the chain.
MAX_CHUNK = 32 * 1024
DEFAULT_LIMIT = 2

PAUSE_CHAIN = 1
PAUSE_DEST = 2


class Entry(Protocol):
    """What a link needs from a stored toxic (see ``toxic_set.ToxicEntry``)."""

    name: str
    kind: ToxicKind
    toxicity: float
    attributes: dict[str, Any]


class Owner(Protocol):
    """The connection that owns the link: flow control and the end of the output."""

    def pause_source(self, link: Link) -> None: ...

    def resume_source(self, link: Link) -> None: ...

    def output_ended(self, link: Link, full: bool) -> None: ...

    def fail(self, link: Link, exc: Exception) -> None: ...


class Slot:
    """One toxic on this link: its stage (``None`` = toxicity missed), queue and timer."""

    __slots__ = (
        "entry",
        "rng",
        "state",
        "stage",
        "pending",
        "close_at",
        "handle",
        "eof_in",
        "eof_full",
        "out_ended",
        "limit",
        "over",
        "dead",
        "miss_tracker",
    )

    def __init__(self, entry: Entry, rng: random.Random) -> None:
        self.entry = entry
        self.rng = rng
        self.state: dict[str, Any] = {}
        self.stage: Stage | None = None
        self.pending: deque[tuple[float, bytes, float]] = deque()
        self.close_at: float | None = None
        self.handle: asyncio.TimerHandle | None = None
        self.eof_in = False
        self.eof_full = True
        self.out_ended = False
        self.limit = PIPELINED_LIMIT if entry.kind.pipelined else DEFAULT_LIMIT
        self.over = False
        self.dead = False
        # While an x-ws-* toxic's draw misses, the pump keeps its input tracker fed, so a
        # stage built by a later hit starts frame-aligned.
        self.miss_tracker: WsTracker | None = None

    @property
    def active(self) -> bool:
        return self.stage is not None


RngFactory = Callable[[str], random.Random]


class Link:
    """One direction of one connection. See the module docstring."""

    def __init__(
        self,
        owner: Owner,
        direction: str,
        loop: asyncio.AbstractEventLoop,
        rng_for: RngFactory,
        *,
        ws_tracking: bool = True,
    ) -> None:
        self.owner = owner
        self.direction = direction
        self.loop = loop
        self.rng_for = rng_for
        self.slots: list[Slot] = []
        self.dest: asyncio.WriteTransport | None = None
        self.dest_dead = False
        self.received = 0
        self.sent = 0
        self.output_done = False
        self.pause_reasons = 0
        self._overs = 0
        # The passive tracker lets a live-added x-ws-* toxic start frame-aligned.
        self.tracker: WsTracker | None = WsTracker(direction) if ws_tracking else None

    # -- building -----------------------------------------------------------------------

    def build(self, entries: list[Entry], now: float) -> None:
        """Set up the chain at connection start (no restarts, no tracker copies)."""
        for entry in entries:
            slot = Slot(entry, self.rng_for(entry.name))
            self.slots.append(slot)
        for slot in list(self.slots):
            self._start(slot, now)

    def _start(self, slot: Slot, now: float) -> None:
        entry = slot.entry
        if slot.rng.random() < entry.toxicity:
            slot.stage = entry.kind.factory(
                entry.attributes, slot.rng, stream=self.direction, state=slot.state
            )
            self._apply(slot, slot.stage.start(now), now)
        else:
            slot.stage = None
        slot.miss_tracker = None
        if slot.stage is None and entry.kind.needs_ws_tracker:
            tracker = slot.state.get("ws_tracker")
            if not isinstance(tracker, WsTracker):
                tracker = slot.state["ws_tracker"] = WsTracker(self.direction)
            slot.miss_tracker = tracker
        if slot.eof_in and not slot.out_ended and slot.stage is not None:
            self._apply(slot, slot.stage.eof(now), now)
        if not slot.dead:
            self._release(slot, now)

    # -- data path ------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """A chunk read from the source."""
        self.received += len(data)
        if not self.slots:
            self._write(data)
            return
        now = self.loop.time()
        if len(data) <= MAX_CHUNK:
            self._deliver(0, data, now, now)
            return
        for i in range(0, len(data), MAX_CHUNK):  # toxics see Go-sized chunks
            self._deliver(0, data[i : i + MAX_CHUNK], now, now)
            if self.output_done:
                return

    def source_eof(self, full: bool) -> None:
        """The source ended (EOF, error, or the other direction closed it)."""
        if self.output_done:
            return
        self._deliver_eof(0, full, self.loop.time())

    def _write(self, data: bytes) -> None:
        tracker = self.tracker
        if tracker is not None:
            tracker.feed(data)
            if tracker.phase is Phase.PASSTHROUGH:
                self.tracker = None
        dest = self.dest
        if dest is None or self.dest_dead or dest.is_closing():
            return
        dest.write(data)
        self.sent += len(data)

    def _deliver(self, i: int, data: bytes, stamp: float, now: float) -> None:
        if i >= len(self.slots):
            if not self.output_done:
                self._write(data)
            return
        slot = self.slots[i]
        if slot.out_ended:
            return  # the stage closed its output: later input is discarded
        stage = slot.stage
        if stage is None:
            if slot.miss_tracker is not None:
                slot.miss_tracker.feed(data)
            if slot.pending:
                slot.pending.append((now, data, stamp))
                self._account(slot)
            else:
                self._deliver(i + 1, data, stamp, now)
            return
        self._apply(slot, stage.data(data, stamp, now), now)

    def _apply(self, slot: Slot, actions: list[Action], now: float) -> None:
        if slot.dead:
            return
        for action in actions:
            if type(action) is Emit:
                if action.at <= now and not slot.pending:
                    self._deliver(self.slots.index(slot) + 1, action.data, action.stamp, now)
                    if _gone(slot):
                        return
                else:
                    slot.pending.append((action.at, action.data, action.stamp))
            elif type(action) is CloseLink:
                slot.close_at = action.at
            elif type(action) is CancelClose:
                slot.close_at = None
            else:
                raise TypeError(f"toxic stage returned an unknown action: {action!r}")
        self._release(slot, now)

    def _release(self, slot: Slot, now: float) -> None:
        """Forward due emits, in order."""
        pending = slot.pending
        while pending and pending[0][0] <= now:
            _, data, stamp = pending.popleft()
            self._deliver(self.slots.index(slot) + 1, data, stamp, now)
            if slot.dead:
                return
        self._account(slot)
        if slot.close_at is not None and slot.close_at <= now:
            self._fire_close(slot, now)
            return
        self._check_eof(slot, now)
        if not slot.dead:
            self._schedule(slot)

    def _schedule(self, slot: Slot) -> None:
        t = slot.pending[0][0] if slot.pending else math.inf
        if slot.close_at is not None and slot.close_at < t:
            t = slot.close_at
        if slot.stage is not None and not slot.out_ended:
            d = slot.stage.deadline()
            if d is not None and d < t:
                t = d
        handle = slot.handle
        if handle is not None:
            if handle.when() == t:
                return
            handle.cancel()
            slot.handle = None
        if t != math.inf:
            slot.handle = self.loop.call_at(t, self._on_timer, slot, t)

    def _on_timer(self, slot: Slot, when: float) -> None:
        slot.handle = None
        if slot.dead:
            return
        try:
            self._timer_fired(slot, when)
        except Exception as exc:  # a broken stage must not wedge the connection
            self.owner.fail(self, exc)

    def _timer_fired(self, slot: Slot, when: float) -> None:
        now = max(self.loop.time(), when)
        stage = slot.stage
        if stage is not None and not slot.out_ended:
            d = stage.deadline()
            if d is not None and d <= now:
                self._apply(slot, stage.timer(now), now)
                if _gone(slot):
                    return
        self._release(slot, now)

    def _fire_close(self, slot: Slot, now: float) -> None:
        """The stage's output ends now: drop what is not due, pass the end on."""
        slot.close_at = None
        slot.pending.clear()
        slot.out_ended = True
        self._account(slot)
        if slot.handle is not None:
            slot.handle.cancel()
            slot.handle = None
        self._deliver_eof(self.slots.index(slot) + 1, True, now)

    def _deliver_eof(self, i: int, full: bool, now: float) -> None:
        if i >= len(self.slots):
            if not self.output_done:
                self.output_done = True
                self.owner.output_ended(self, full)
            return
        slot = self.slots[i]
        if slot.eof_in or slot.out_ended:
            return
        slot.eof_in = True
        slot.eof_full = full
        if slot.stage is not None:
            self._apply(slot, slot.stage.eof(now), now)
        else:
            self._check_eof(slot, now)

    def _check_eof(self, slot: Slot, now: float) -> None:
        if slot.eof_in and not slot.out_ended and not slot.pending and slot.close_at is None:
            slot.out_ended = True
            self._deliver_eof(self.slots.index(slot) + 1, slot.eof_full, now)

    def _account(self, slot: Slot) -> None:
        over = len(slot.pending) > slot.limit and not slot.dead
        if over == slot.over:
            return
        slot.over = over
        self._overs += 1 if over else -1
        if over and self._overs == 1:
            self.pause(PAUSE_CHAIN)
        elif not over and self._overs == 0:
            self.resume(PAUSE_CHAIN)

    def pause(self, reason: int) -> None:
        was = self.pause_reasons
        self.pause_reasons |= reason
        if not was:
            self.owner.pause_source(self)

    def resume(self, reason: int) -> None:
        if not self.pause_reasons & reason:
            return
        self.pause_reasons &= ~reason
        if not self.pause_reasons:
            self.owner.resume_source(self)

    # -- live changes -----------------------------------------------------------------------

    def _find(self, entry: Entry) -> Slot | None:
        for slot in self.slots:
            if slot.entry is entry:
                return slot
        return None

    def append(self, entry: Entry) -> None:
        """A toxic was added: restart the last stage, splice the new one after it."""
        now = self.loop.time()
        slot = Slot(entry, self.rng_for(entry.name))
        if entry.kind.needs_ws_tracker:
            tracker = self.tracker or WsTracker(self.direction, Phase.PASSTHROUGH)
            slot.state["ws_tracker"] = tracker.copy()
        prev = self.slots[-1] if self.slots else None
        self.slots.append(slot)
        if self.output_done or (prev is not None and prev.out_ended):
            slot.eof_in = slot.out_ended = True  # the end already went past: inert
            return
        self._start(slot, now)
        if prev is not None and not prev.dead:
            self._restart(prev, now)

    def update(self, entry: Entry) -> None:
        """A toxic's attributes or toxicity changed: restart its stage."""
        slot = self._find(entry)
        if slot is not None:
            self._restart(slot, self.loop.time())

    def _restart(self, slot: Slot, now: float) -> None:
        if slot.out_ended:
            return
        old = slot.stage
        if slot.pending and any(at == math.inf for at, _, _ in slot.pending):
            slot.pending = deque(
                (now if at == math.inf else at, d, s) for at, d, s in slot.pending
            )
        if old is not None:
            for action in old.flush(now):
                if type(action) is Emit:
                    slot.pending.append((now, action.data, action.stamp))
        slot.close_at = None
        if slot.handle is not None:
            slot.handle.cancel()
            slot.handle = None
        self._start(slot, now)

    def remove(self, entry: Entry) -> None:
        """A toxic was removed: hand over what it holds, splice it out, restart the one before."""
        slot = self._find(entry)
        if slot is None:
            return
        now = self.loop.time()
        i = self.slots.index(slot)
        items = [(d, s) for _, d, s in slot.pending]
        if slot.stage is not None and not slot.out_ended:
            items += [(a.data, a.stamp) for a in slot.stage.flush(now) if type(a) is Emit]
        self._kill(slot)
        del self.slots[i]
        if not slot.out_ended:
            for data, stamp in items:
                self._deliver(i, data, stamp, now)
                if self.output_done:
                    break
            if slot.entry.kind.closes_on_removal:
                self._deliver_eof(i, True, now)
            elif slot.eof_in:
                self._deliver_eof(i, slot.eof_full, now)
        if i > 0 and not self.slots[i - 1].dead:
            self._restart(self.slots[i - 1], now)

    def _kill(self, slot: Slot) -> None:
        slot.pending.clear()
        self._account(slot)
        slot.dead = True
        if slot.over:
            slot.over = False
            self._overs -= 1
        if slot.handle is not None:
            slot.handle.cancel()
            slot.handle = None

    def close(self) -> None:
        """The connection is being torn down: cancel every timer, drop held bytes."""
        self.output_done = True
        for slot in self.slots:
            self._kill(slot)
        self._overs = 0

    def describe(self) -> list[dict[str, Any]]:
        return [{"name": s.entry.name, "active": s.active} for s in self.slots]


def _gone(slot: Slot) -> bool:
    """``slot.dead`` re-read after a call that may have torn the link down."""
    return slot.dead
