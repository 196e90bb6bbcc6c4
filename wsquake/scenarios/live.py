"""What a run is doing right now, and its live view (rich on a TTY, plain lines otherwise).

:class:`RunStatus` is plain mutable state the runner updates (phase changes, faults, cloud
probes); :class:`LiveView` renders it — a rich ``Live`` panel refreshed a few times per
second when stdout is a terminal, else one plain line per change (CI logs).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from rich.console import Console
from rich.live import Live
from rich.table import Table

__all__ = ["LiveView", "ReconnectCounter", "RunStatus", "format_status_line"]


@dataclass(slots=True)
class RunStatus:
    scenario: str = ""
    index: int = 0
    total: int = 0
    phase: str = "starting"
    started: float = 0.0  # runner clock: start of the warm-up (scenario time -warmup_s)
    time_scale: float = 1.0
    planned_s: float = 0.0  # scenario seconds, whole scenario
    glasses_connected: int | None = None
    app_connections: int | None = None
    sessions: int | None = None
    probe_ok: bool | None = None
    active_faults: list[str] = field(default_factory=list)
    faults_applied: int = 0
    faults_healed: int = 0
    recoveries: int = 0
    listeners: list[Callable[[RunStatus], None]] = field(default_factory=list)

    def changed(self) -> None:
        for listener in tuple(self.listeners):
            listener(self)


class ReconnectCounter:
    """Counts re-established connections (``init ok`` with ``conn > 1``) by reading what
    the fleets appended to their history files since the last call (for the live view
    only; checkers read the merged history)."""

    def __init__(self, parts: Path) -> None:
        self.parts = parts
        self._offsets: dict[Path, int] = {}
        self.count = 0

    def update(self) -> int:
        for path in sorted(self.parts.glob("*.jsonl")):
            if path.name == "runner.jsonl":
                continue
            offset = self._offsets.get(path, 0)
            try:
                with path.open("rb") as fh:
                    fh.seek(offset)
                    chunk = fh.read()
            except OSError:
                continue
            end = chunk.rfind(b"\n") + 1  # complete lines only
            self._offsets[path] = offset + end
            for line in chunk[:end].splitlines():
                if b'"kind":"init"' not in line or b'"outcome":"ok"' not in line:
                    continue
                try:
                    conn = json.loads(line).get("conn", 0)
                except ValueError:
                    continue
                if isinstance(conn, int) and conn > 1:
                    self.count += 1
        return self.count


def format_status_line(status: RunStatus, now: float) -> str:
    elapsed = max(0.0, now - status.started) if status.started else 0.0
    scen_s = elapsed / status.time_scale if status.time_scale else 0.0
    conn = "-" if status.glasses_connected is None else str(status.glasses_connected)
    apps = "-" if status.app_connections is None else str(status.app_connections)
    faults = ", ".join(status.active_faults) or "none"
    return (
        f"[{status.index}/{status.total}] {status.scenario} {status.phase} "
        f"t={scen_s:.1f}/{status.planned_s:.0f}s (wall {elapsed:.1f}s) "
        f"glasses={conn} app_sockets={apps} faults: {faults} "
        f"(applied {status.faults_applied}, healed {status.faults_healed}, "
        f"reconnects {status.recoveries})"
    )


class LiveView:
    """Context manager rendering a :class:`RunStatus` until closed."""

    def __init__(
        self,
        status: RunStatus,
        *,
        enabled: bool = True,
        stream: IO[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.status = status
        self.stream = stream if stream is not None else sys.stdout
        self.clock = clock
        self.rich = enabled and self.stream.isatty()
        self.plain = enabled and not self.rich
        self._live: Live | None = None
        self._last_line = ""

    def __enter__(self) -> Self:
        if self.rich:
            console = Console(file=self.stream)
            self._live = Live(get_renderable=self._render, console=console,
                              refresh_per_second=4, transient=True)
            self._live.__enter__()
        elif self.plain:
            self.status.listeners.append(self._print_line)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None
        if self._print_line in self.status.listeners:
            self.status.listeners.remove(self._print_line)

    def _print_line(self, status: RunStatus) -> None:
        # One line per change of phase or faults, not per probe (keeps CI logs short).
        key = f"{status.scenario}|{status.phase}|{status.active_faults}"
        if key == self._last_line:
            return
        self._last_line = key
        print(format_status_line(status, self.clock()), file=self.stream, flush=True)

    def _render(self) -> Table:
        s = self.status
        now = self.clock()
        elapsed = max(0.0, now - s.started) if s.started else 0.0
        table = Table(title=f"wsquake run — {s.scenario} ({s.index}/{s.total})",
                      show_header=False, expand=False)
        table.add_column(style="bold")
        table.add_column()
        scen = elapsed / s.time_scale if s.time_scale else 0.0
        table.add_row("phase", s.phase)
        table.add_row("time", f"{scen:.1f} / {s.planned_s:.0f} scenario s "
                              f"(wall {elapsed:.1f} s, time_scale {s.time_scale:g})")
        probe = {None: "-", True: "ok", False: "FAIL"}[s.probe_ok]
        table.add_row("cloud", f"probe {probe}; sessions {_dash(s.sessions)}, glasses sockets "
                               f"{_dash(s.glasses_connected)}, app sockets "
                               f"{_dash(s.app_connections)}")
        table.add_row("active faults", ", ".join(s.active_faults) or "none")
        table.add_row("faults", f"applied {s.faults_applied}, healed {s.faults_healed}")
        table.add_row("reconnects", f"{s.recoveries} (sockets re-established so far)")
        return table


def _dash(value: int | None) -> str:
    return "-" if value is None else str(value)
