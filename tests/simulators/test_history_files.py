"""HistoryWriter flushing and the reader's merge and truncated-line tolerance."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from wsquake.history import (
    EventKind,
    HistoryClosedError,
    HistoryError,
    HistoryFormatError,
    HistoryWriter,
    Outcome,
    read_history,
    read_history_file,
)


class FakeClock:
    """Monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def due(writer: HistoryWriter) -> bool:
    """The flush task has been woken (a function, so mypy does not narrow it)."""
    return writer.flush_due


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def wait_until_written(writer: HistoryWriter, count: int) -> None:
    async with asyncio.timeout(5):
        await writer.wait_written(count)


async def test_writer_buffers_until_the_flush_interval_has_passed(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "glasses-0.jsonl"
    # A long real interval, so only the injected clock can trigger a flush.
    async with HistoryWriter(path, "glasses-0", clock=clock, flush_interval_s=1000.0) as w:
        w.record(EventKind.NOTE, Outcome.INFO, text="one")
        assert not due(w) and w.buffered == 1 and lines_of(path) == []
        clock.now = 999.9  # timeline: still inside the interval
        w.record(EventKind.NOTE, Outcome.INFO, text="two")
        assert not due(w) and w.buffered == 2
        clock.now = 1000.0  # interval passed: the next record wakes the flush task
        w.record(EventKind.NOTE, Outcome.INFO, text="three")
        await wait_until_written(w, 3)
        assert len(lines_of(path)) == 3 and w.buffered == 0


async def test_writer_flushes_on_its_own_after_the_real_interval(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    async with HistoryWriter(path, "apps-0", flush_interval_s=0.05) as w:
        w.record(EventKind.NOTE, Outcome.INFO)  # nothing else happens after this
        await wait_until_written(w, 1)
        assert len(lines_of(path)) == 1


async def test_writer_flushes_when_the_buffer_is_full(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    clock = FakeClock()
    async with HistoryWriter(path, "x", clock=clock, flush_interval_s=1000, max_buffered=3) as w:
        for _ in range(2):
            w.record(EventKind.NOTE, Outcome.INFO)
        assert not due(w)
        w.record(EventKind.NOTE, Outcome.INFO)
        assert due(w)
        await wait_until_written(w, 3)


async def test_writer_writes_everything_buffered_on_close(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    async with HistoryWriter(path, "x", clock=FakeClock(), flush_interval_s=1000) as w:
        for seq in range(50):
            w.record(EventKind.SEND, Outcome.OK, user="u", stream="head_position", seq=seq)
        assert lines_of(path) == []
    log = read_history_file(path)
    assert [e["seq"] for e in log] == list(range(50))


async def test_writer_appends_to_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    for text in ("first run", "second run"):
        async with HistoryWriter(path, "x") as w:
            w.record(EventKind.NOTE, Outcome.INFO, text=text)
    assert [e["text"] for e in read_history(path)] == ["first run", "second run"]


async def test_record_on_a_closed_writer_raises(tmp_path: Path) -> None:
    w = HistoryWriter(tmp_path / "h.jsonl", "x")
    with pytest.raises(HistoryClosedError, match="not open"):
        w.record(EventKind.NOTE, Outcome.INFO)
    async with w:
        pass
    with pytest.raises(HistoryClosedError):
        w.record(EventKind.NOTE, Outcome.INFO)


async def test_writer_stamps_t_with_the_injected_wall_clock(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    async with HistoryWriter(path, "x", clock_ns=lambda: 42) as w:
        event = w.record(EventKind.NOTE, Outcome.INFO)
    assert event.t == 42 and read_history(path).events[0].t == 42


async def test_cancelled_owner_still_gets_its_events_written(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    entered = asyncio.Event()

    async def owner() -> None:
        async with HistoryWriter(path, "x", clock=FakeClock(), flush_interval_s=1000) as w:
            w.record(EventKind.NOTE, Outcome.INFO, text="before cancel")
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.ensure_future(owner())
    async with asyncio.timeout(5):
        await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [e["text"] for e in read_history(path)] == ["before cancel"]


def write(path: Path, *lines: str, newline_at_end: bool = True) -> None:
    path.write_text("\n".join(lines) + ("\n" if newline_at_end else ""))


def note(t: int, component: str, text: str) -> str:
    return (
        f'{{"t":{t},"component":"{component}","client_id":"","session_id":"","conn":0,'
        f'"kind":"note","outcome":"info","text":"{text}"}}'
    )


def test_run_directory_is_merged_by_t_stably(tmp_path: Path) -> None:
    write(tmp_path / "apps-0.jsonl", note(10, "apps-0", "a10"), note(30, "apps-0", "a30"))
    write(tmp_path / "glasses-0.jsonl", note(10, "glasses-0", "g10"), note(20, "glasses-0", "g20"))
    (tmp_path / "notes.txt").write_text("not a history file")
    log = read_history(tmp_path)
    assert [e["text"] for e in log] == ["a10", "g10", "g20", "a30"]
    assert [p.name for p in log.files] == ["apps-0.jsonl", "glasses-0.jsonl"]


def test_truncated_last_line_is_reported_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "glasses-0.jsonl"
    partial = note(20, "g", "cut")[:37]
    write(path, note(10, "g", "whole"), partial, newline_at_end=False)
    log = read_history(tmp_path)
    assert [e["text"] for e in log] == ["whole"]
    assert len(log.truncated) == 1
    assert log.truncated[0].line == 2 and log.truncated[0].text == partial
    assert "glasses-0.jsonl:2" in str(log.truncated[0])


async def test_writer_after_a_killed_run_keeps_its_first_line_whole(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    write(path, note(10, "g", "whole"), note(20, "g", "cut")[:30], newline_at_end=False)
    async with HistoryWriter(path, "g", clock_ns=lambda: 30) as w:
        w.record(EventKind.NOTE, Outcome.INFO, text="restarted")
    log = read_history(path)
    assert [e["text"] for e in log] == ["whole", "restarted"]
    assert [t.line for t in log.truncated] == [2]


def test_bad_line_in_the_middle_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    bad = note(20, "g", "x").replace('"outcome":"info"', '"outcome":"sort of"')
    write(path, note(10, "g", "a"), bad, note(30, "g", "b"))
    with pytest.raises(HistoryFormatError) as info:
        read_history(path)
    assert info.value.where == f"{path}:2" and info.value.field == "outcome"


def test_reading_a_missing_path_or_empty_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="no such history file"):
        read_history(tmp_path / "nope.jsonl")
    with pytest.raises(HistoryError, match=r"no \*\.jsonl"):
        read_history(tmp_path)
