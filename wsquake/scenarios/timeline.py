"""Executing a scenario's fault timeline on the runner's clock, with rollback.

:class:`FaultDriver` turns each :class:`~wsquake.scenarios.model.TimelineAction` into
proxy API calls or process signals, records it in the runner's history and journal, and
remembers what is active so :meth:`FaultDriver.rollback` can undo it on **every** exit
path (the runner calls it in a ``finally``):

| step                         | start                              | end (heal)                |
| ---------------------------- | ---------------------------------- | ------------------------- |
| ``FaultStep`` with a toxic   | one toxic per direction, on every  | toxics removed            |
|                              | proxy of the link                  |                           |
| ``FaultStep`` with ``Down()``| proxies disabled (links cut)       | proxies enabled           |
| ``ProcessStep`` ``kill``     | SIGKILL                            | started again (same port) |
| ``ProcessStep`` ``pause``    | SIGSTOP                            | SIGCONT                   |
| ``ProcessStep`` ``restart``  | SIGTERM (SIGKILL after a deadline) | started again (same port) |

Rollback removes toxics, re-enables proxies and continues paused processes (killed or
stopped processes stay down: the runner stops everything next). History: one
``fault_start`` per start and one ``fault_end`` per end or rollback, outcome ``ok`` once
the change is in place (``fail`` with ``error`` if it could not be made), **stamped with
the time the change was begun** (a client may see a cut before the API call returns; the
event's ``done_ms`` says how long the change took), fields
``fault`` (step name), ``target`` (link or process), ``toxic`` (toxic type or process
action), ``step`` (index), ``window`` (repeat number) and, for rollbacks,
``rollback=true``.

Times: ``at_s`` is scenario seconds after timeline zero; wall = ``at_s × time_scale``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from wsquake.faults.client import AsyncToxiproxyClient
from wsquake.faults.process import ManagedProcess, ProcessState
from wsquake.history import EventKind, History, Outcome
from wsquake.scenarios.components import Components
from wsquake.scenarios.model import (
    ActionPhase,
    Down,
    FaultStep,
    ProcessAction,
    ProcessStep,
    TimelineAction,
)
from wsquake.scenarios.rundir import Journal
from wsquake.scenarios.topology import Topology

__all__ = ["ActiveFault", "FaultDriver", "StampClock", "order_actions"]

logger = logging.getLogger(__name__)


def order_actions(actions: Iterable[TimelineAction]) -> list[TimelineAction]:
    """Time order, and never an end before its own start (zero-length windows)."""
    pending = sorted(actions, key=lambda a: a.at_s)
    out: list[TimelineAction] = []
    started: set[tuple[int, int]] = set()
    deferred: dict[tuple[int, int], TimelineAction] = {}
    for action in pending:
        key = (action.step_index, action.window)
        if action.phase is ActionPhase.START:
            out.append(action)
            started.add(key)
            if key in deferred:
                out.append(deferred.pop(key))
        elif key in started:
            out.append(action)
        else:
            deferred[key] = action
    out.extend(deferred.values())
    return out


@dataclass(slots=True)
class ActiveFault:
    action: TimelineAction
    toxics: list[tuple[str, str]] = field(default_factory=list)  # (proxy, toxic name)
    disabled: list[str] = field(default_factory=list)  # proxies
    paused: list[ManagedProcess] = field(default_factory=list)
    stopped: list[ManagedProcess] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.action.fault} ({self.action.target} {self.action.toxic})"


class StampClock:
    """A wall clock (ns) that can be pinned: the runner's history records fault events
    with the time the action was begun, not the time it was recorded."""

    def __init__(self, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._clock_ns = clock_ns
        self._pinned: int | None = None

    def __call__(self) -> int:
        return self._pinned if self._pinned is not None else self._clock_ns()

    def now(self) -> int:
        return self._clock_ns()

    @contextlib.contextmanager
    def pinned(self, t_ns: int) -> Iterator[None]:
        self._pinned = t_ns
        try:
            yield
        finally:
            self._pinned = None


class FaultDriver:
    """Applies and heals timeline actions; tracks active faults for the rollback.

    ``stamp``: the clock of ``history`` (pinned while a fault event is recorded).
    """

    def __init__(
        self,
        *,
        client: AsyncToxiproxyClient | None,
        topology: Topology | None,
        components: Components,
        history: History,
        journal: Journal,
        time_scale: float,
        on_change: Callable[[], None] = lambda: None,
        stamp: StampClock | None = None,
    ) -> None:
        self.stamp = stamp or StampClock()
        self.client = client
        self.topology = topology
        self.components = components
        self.history = history
        self.journal = journal
        self.time_scale = time_scale
        self.active: dict[tuple[int, int], ActiveFault] = {}
        self.applied = 0
        self.healed = 0
        self.rolled_back = 0
        self._on_change = on_change

    @property
    def active_labels(self) -> list[str]:
        return [f.label for f in self.active.values()]

    def _record(self, kind: EventKind, outcome: Outcome, begun_ns: int,
                action: TimelineAction, **extra: Any) -> None:
        done_ms = round((self.stamp.now() - begun_ns) / 1e6, 3)
        with self.stamp.pinned(begun_ns):
            self.history.record(kind, outcome, done_ms=done_ms, **self._fields(action),
                                **extra)

    def _fields(self, action: TimelineAction) -> dict[str, Any]:
        return {
            "fault": action.fault,
            "target": action.target,
            "toxic": action.toxic,
            "step": action.step_index,
            "window": action.window,
        }

    async def run(self, actions: Iterable[TimelineAction], zero: float,
                  clock: Callable[[], float]) -> None:
        """Execute ``actions`` with ``zero`` = the runner-clock moment of timeline 0 s."""
        for action in order_actions(actions):
            due = zero + action.at_s * self.time_scale
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.execute(action)

    async def execute(self, action: TimelineAction) -> None:
        if action.phase is ActionPhase.START:
            await self.apply(action)
        else:
            await self.heal(action)

    # -- start -------------------------------------------------------------------------

    async def apply(self, action: TimelineAction) -> None:
        key = (action.step_index, action.window)
        active = ActiveFault(action)
        self.active[key] = active
        begun = self.stamp.now()
        try:
            if isinstance(action.step, FaultStep):
                await self._apply_link(action.step, active)
            else:
                await self._apply_process(action.step, active)
        except Exception as exc:
            self._record(EventKind.FAULT_START, Outcome.FAIL, begun, action, error=str(exc))
            self.journal.write("fault_apply_failed", error=str(exc), **self._fields(action))
            self._on_change()
            raise
        self.applied += 1
        self._record(EventKind.FAULT_START, Outcome.OK, begun, action)
        self.journal.write("fault_applied", **self._fields(action))
        logger.info("fault applied: %s", active.label)
        self._on_change()

    async def _apply_link(self, step: FaultStep, active: ActiveFault) -> None:
        if self.client is None or self.topology is None:
            raise RuntimeError("no fault proxy for a link fault")
        names = self.topology.names(step.link)
        if isinstance(step.toxic, Down):
            for name in names:
                active.disabled.append(name)
                await self.client.update_proxy(name, enabled=False)
            return
        for name in names:
            for spec in step.toxics(self.time_scale):
                info = await self.client.add_toxic(name, spec)
                active.toxics.append((name, info.name))

    async def _apply_process(self, step: ProcessStep, active: ActiveFault) -> None:
        procs = self.components.of(step.target)
        if not procs:
            raise RuntimeError(f"no {step.target.value} process was started by this run")
        for proc in procs:
            if step.action is ProcessAction.PAUSE:
                active.paused.append(proc)
                await proc.pause()
            elif step.action is ProcessAction.KILL:
                active.stopped.append(proc)
                await proc.kill()
                self.journal.write("component_killed", component=proc.name)
            else:
                active.stopped.append(proc)
                code = await proc.stop()
                self.journal.write("component_stopped", component=proc.name, returncode=code)

    # -- end ---------------------------------------------------------------------------

    async def heal(self, action: TimelineAction) -> None:
        key = (action.step_index, action.window)
        active = self.active.pop(key, None)
        if active is None:  # its start failed; nothing to undo
            return
        begun = self.stamp.now()
        try:
            await self._undo(active, restart=True)
        except Exception as exc:
            self._record(EventKind.FAULT_END, Outcome.FAIL, begun, action, error=str(exc))
            self.journal.write("fault_heal_failed", error=str(exc), **self._fields(action))
            self._on_change()
            raise
        self.healed += 1
        self._record(EventKind.FAULT_END, Outcome.OK, begun, action)
        self.journal.write("fault_healed", **self._fields(action))
        logger.info("fault healed: %s", active.label)
        self._on_change()

    async def _undo(self, active: ActiveFault, *, restart: bool) -> None:
        errors: list[str] = []
        if self.client is not None:
            for proxy, toxic in reversed(active.toxics):
                try:
                    await self.client.remove_toxic(proxy, toxic, missing_ok=True)
                except Exception as exc:
                    errors.append(f"remove toxic {toxic} from {proxy}: {exc}")
            for proxy in active.disabled:
                try:
                    await self.client.update_proxy(proxy, enabled=True)
                except Exception as exc:
                    errors.append(f"enable proxy {proxy}: {exc}")
        for proc in active.paused:
            if proc.state is ProcessState.PAUSED:
                try:
                    await proc.resume()
                except Exception as exc:
                    errors.append(f"resume {proc.name}: {exc}")
        if restart:
            for proc in active.stopped:
                await self.components.start_again(proc)  # a failed start is a harness error
        if errors:
            raise RuntimeError("; ".join(errors))

    async def rollback(self) -> list[str]:
        """Undo every active fault (newest first); returns the errors (also journaled)."""
        errors: list[str] = []
        for key in reversed(list(self.active)):
            active = self.active.pop(key)
            fields = self._fields(active.action)
            begun = self.stamp.now()
            try:
                await self._undo(active, restart=False)
            except Exception as exc:
                errors.append(f"{active.label}: {exc}")
                self._record(EventKind.FAULT_END, Outcome.FAIL, begun, active.action,
                             rollback=True, error=str(exc))
                self.journal.write("fault_rollback_failed", error=str(exc), **fields)
                continue
            self.rolled_back += 1
            self._record(EventKind.FAULT_END, Outcome.OK, begun, active.action, rollback=True)
            self.journal.write("fault_rolled_back", **fields)
            logger.info("fault rolled back: %s", active.label)
        self._on_change()
        return errors
