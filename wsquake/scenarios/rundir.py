"""The run directory: layout, the journal, merged histories and ``summary.json``.

Layout (one run = one ``wsquake run`` / ``wsquake suite``; scenarios run one after the
other, each in its own folder)::

    runs/<run-id>/
        summary.json            verdicts, checks, thresholds (docs/running.md)
        journal.jsonl           what the runner did and when (every start/stop/fault)
        history.jsonl           every scenario's merged history, in time order
        <scenario>/             one per scenario (a repeated name gets "-2", "-3", …)
            scenario.json       the resolved scenario (after --time-scale/--users/--seed)
            history.jsonl       this scenario's merged history (parts/*.jsonl by time)
            cloud.toml          the config the cloud process was started with
            parts/*.jsonl       each component's own history (runner, glasses-0, apps-0)
            logs/*.log          each child's stdout (+ .err.log: stderr)

``run-id`` is ``YYYYmmdd-HHMMSS-<first scenario>-<4 hex>`` (UTC), unique and sortable.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from wsquake.history import HistoryEvent, read_history

__all__ = [
    "Journal",
    "RunDir",
    "ScenarioDir",
    "merge_histories",
    "new_run_id",
    "to_jsonable",
    "write_json",
    "write_run_history",
]


def new_run_id(label: str, *, clock: Callable[[], float] = time.time) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(clock()))
    safe = "".join(c if c.isalnum() or c == "-" else "-" for c in label)[:40] or "run"
    return f"{stamp}-{safe}-{secrets.token_hex(2)}"


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, mappings, tuples, paths → JSON values; non-finite floats → null."""
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        if hasattr(value, "TYPE"):
            out["type"] = value.TYPE
        for f in dataclasses.fields(value):
            if f.name.startswith("_"):
                continue
            out[f.name] = to_jsonable(getattr(value, f.name))
        return out
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    text = getattr(value, "text", None)  # e.g. a parsed Threshold
    return text if isinstance(text, str) else repr(value)


def write_json(path: Path, data: Any) -> None:
    """Write atomically (temp file + rename), so a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(to_jsonable(data), indent=2, allow_nan=False) + "\n", "utf-8")
    os.replace(tmp, path)


class Journal:
    """``journal.jsonl``: one line per runner action, flushed at once (survives a crash).

    Each line: ``{"t": wall ns, "elapsed_s": s since the run started, "event": …,
    "scenario": …, …fields}``. Thread-safe; cheap enough for the event loop (a few
    dozen lines per scenario).
    """

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.monotonic,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.path = path
        self._clock = clock
        self._clock_ns = clock_ns
        self._start = clock()
        self._lock = threading.Lock()
        self._file: IO[str] | None = path.open("a", encoding="utf-8")
        self.scenario: str | None = None
        self.entries: list[dict[str, Any]] = []

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "t": self._clock_ns(),
            "elapsed_s": round(self._clock() - self._start, 6),
            "event": event,
        }
        if self.scenario is not None:
            entry["scenario"] = self.scenario
        entry.update(to_jsonable(fields))
        with self._lock:
            self.entries.append(entry)
            if self._file is not None:
                self._file.write(json.dumps(entry, allow_nan=False) + "\n")
                self._file.flush()
        return entry

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


@dataclasses.dataclass(frozen=True, slots=True)
class ScenarioDir:
    path: Path

    @property
    def parts(self) -> Path:
        return self.path / "parts"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def history(self) -> Path:
        return self.path / "history.jsonl"

    @property
    def scenario_json(self) -> Path:
        return self.path / "scenario.json"

    @property
    def cloud_toml(self) -> Path:
        return self.path / "cloud.toml"

    def part(self, component: str) -> Path:
        return self.parts / f"{component}.jsonl"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"


class RunDir:
    """``runs/<run-id>/``; created on construction (the parent folder too)."""

    def __init__(self, out: str | Path, run_id: str) -> None:
        self.run_id = run_id
        self.path = Path(out) / run_id
        self.path.mkdir(parents=True, exist_ok=False)
        self._used: set[str] = set()

    @property
    def summary(self) -> Path:
        return self.path / "summary.json"

    @property
    def journal(self) -> Path:
        return self.path / "journal.jsonl"

    @property
    def history(self) -> Path:
        return self.path / "history.jsonl"

    def scenario_dir(self, name: str) -> ScenarioDir:
        label, n = name, 1
        while label in self._used:
            n += 1
            label = f"{name}-{n}"
        self._used.add(label)
        sd = ScenarioDir(self.path / label)
        sd.parts.mkdir(parents=True)
        sd.logs.mkdir()
        return sd


def merge_histories(parts: Path, out: Path) -> tuple[list[HistoryEvent], int]:
    """Merge every ``parts/*.jsonl`` by time into ``out``; (events, truncated lines).

    A killed component may leave a partial last line; it is counted, not fatal.
    """
    if not any(parts.glob("*.jsonl")):
        out.write_text("", "utf-8")
        return [], 0
    log = read_history(parts)
    _write_events(out, log.events)
    return list(log.events), len(log.truncated)


def _write_events(out: Path, events: Iterable[HistoryEvent]) -> None:
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for event in events:
            fh.write(event.to_json_line() + "\n")
    os.replace(tmp, out)


def write_run_history(out: Path, scenario_events: Iterable[Iterable[HistoryEvent]]) -> None:
    """The run's ``history.jsonl``: every scenario's events, merged by time (stable)."""
    merged = sorted((e for events in scenario_events for e in events), key=lambda e: e.t)
    _write_events(out, merged)
