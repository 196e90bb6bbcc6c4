"""Reading history files back: one file or a run directory's ``*.jsonl``, merged by ``t``.

A process killed mid-write can leave a partial last line (a prefix of a valid line). The
reader skips such lines and reports them in :attr:`HistoryLog.truncated` instead of
failing; any other bad line raises :class:`HistoryFormatError` naming ``path:line`` and
the field.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from wsquake.history.events import EventKind, HistoryEvent, Outcome
from wsquake.history.exceptions import HistoryError, HistoryFormatError

__all__ = ["HistoryLog", "TruncatedLine", "read_history", "read_history_file"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TruncatedLine:
    """A partial line skipped by the reader (a process killed mid-write)."""

    path: Path
    line: int
    text: str

    def __str__(self) -> str:
        shown = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return f"{self.path}:{self.line}: truncated line skipped: {shown!r}"


@dataclass(frozen=True, slots=True)
class HistoryLog:
    """Events of one or more files, merged by ``t`` (stable: file order breaks ties)."""

    events: tuple[HistoryEvent, ...]
    files: tuple[Path, ...]
    truncated: tuple[TruncatedLine, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[HistoryEvent]:
        return iter(self.events)

    def of(self, kind: EventKind, outcome: Outcome | None = None) -> list[HistoryEvent]:
        """The events of one kind (and outcome), in time order."""
        return [
            e for e in self.events if e.kind is kind and (outcome is None or e.outcome is outcome)
        ]


def _looks_truncated(text: str, is_last: bool, ends_with_newline: bool) -> bool:
    stripped = text.rstrip()
    return (is_last and not ends_with_newline) or not stripped.endswith("}")


def _read_lines(path: Path) -> tuple[list[HistoryEvent], list[TruncatedLine]]:
    try:
        content = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise HistoryError(f"{path}: cannot read history file: {exc.strerror or exc}") from exc
    lines = content.split("\n")
    ends_with_newline = content.endswith("\n")
    if ends_with_newline:
        lines.pop()  # the empty string after the final newline
    events: list[HistoryEvent] = []
    truncated: list[TruncatedLine] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        is_last = number == len(lines)
        try:
            events.append(HistoryEvent.from_json_line(text))
        except HistoryFormatError as exc:
            try:
                json.loads(text)
                valid_json = True
            except json.JSONDecodeError:
                valid_json = False
            if not valid_json and _looks_truncated(text, is_last, ends_with_newline):
                skipped = TruncatedLine(path, number, text)
                logger.warning("%s", skipped)
                truncated.append(skipped)
                continue
            raise exc.at(f"{path}:{number}") from None
    return events, truncated


def read_history_file(path: str | Path) -> HistoryLog:
    """Read one JSON-lines history file."""
    return _merge([Path(path)])


def read_history(path: str | Path) -> HistoryLog:
    """Read a history file, or every ``*.jsonl`` file directly inside a run directory."""
    target = Path(path)
    if target.is_dir():
        files = sorted(target.glob("*.jsonl"))
        if not files:
            raise HistoryError(f"{target}: no *.jsonl history files in this directory")
        return _merge(files)
    if not target.exists():
        raise HistoryError(f"{target}: no such history file or run directory")
    return _merge([target])


def _merge(files: Iterable[Path]) -> HistoryLog:
    all_events: list[HistoryEvent] = []
    all_truncated: list[TruncatedLine] = []
    paths = tuple(files)
    for path in paths:
        events, truncated = _read_lines(path)
        all_events.extend(events)
        all_truncated.extend(truncated)
    all_events.sort(key=lambda e: e.t)  # list.sort is stable
    return HistoryLog(tuple(all_events), paths, tuple(all_truncated))
