"""History events: JSON round trip and schema validation (no I/O)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from wsquake.history import (
    COMMON_FIELDS,
    SCHEMA,
    EventKind,
    HistoryEvent,
    HistoryFormatError,
    MemoryHistory,
    NullHistory,
    Outcome,
)

T0 = 1_764_205_200_000_000_000


def send_event(**overrides: object) -> HistoryEvent:
    args: dict[str, object] = dict(
        t=T0,
        component="glasses-0",
        kind=EventKind.SEND,
        outcome=Outcome.OK,
        client_id="user-0001@ex-ample.com",
        session_id="user-0001@ex-ample.com",
        conn=2,
        fields={"user": "user-0001@ex-ample.com", "stream": "head_position", "seq": 17},
    )
    args.update(overrides)
    return HistoryEvent(**args)  # type: ignore[arg-type]


def test_event_round_trips_through_a_json_line() -> None:
    event = send_event()
    line = event.to_json_line()
    assert "\n" not in line
    assert HistoryEvent.from_json_line(line) == event


def test_json_line_is_flat_with_common_fields_first() -> None:
    data = json.loads(send_event().to_json_line())
    assert tuple(data)[:7] == COMMON_FIELDS
    assert data["seq"] == 17 and data["kind"] == "send" and data["outcome"] == "ok"


def test_kind_and_outcome_strings_become_enums() -> None:
    event = HistoryEvent.from_dict(
        {"t": 1, "component": "runner", "kind": "note", "outcome": "info", "text": "hi"}
    )
    assert event.kind is EventKind.NOTE and event.outcome is Outcome.INFO
    assert event.client_id == "" and event.conn == 0 and event["text"] == "hi"


def test_every_kind_has_a_schema_row() -> None:
    assert set(SCHEMA) == set(EventKind)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"t": -1}, "t"),
        ({"t": 1.5}, "t"),
        ({"t": True}, "t"),
        ({"component": ""}, "component"),
        ({"conn": -1}, "conn"),
        ({"client_id": 3}, "client_id"),
        ({"kind": "teleport"}, "kind"),
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": Outcome.INVOKE}, "outcome"),  # send allows ok | fail | info only
        ({"fields": {"user": "u", "stream": "s"}}, "seq"),
        ({"fields": {"user": "u", "stream": "s", "seq": 1, "extra": [1]}}, "extra"),
        ({"fields": {"user": "u", "stream": "s", "seq": 1, "x": float("nan")}}, "x"),
        ({"fields": {"user": "u", "stream": "s", "seq": 1, "conn": 3}}, "conn"),
    ],
)
def test_bad_event_is_rejected_naming_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(HistoryFormatError) as info:
        send_event(**overrides)
    assert info.value.field == field
    assert repr(field) in str(info.value)


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"component":"x","kind":"note","outcome":"info"}', "'t'"),
        ('{"t":1,"component":"x","kind":"note","outcome":"info","v":{"a":1}}', "'v'"),
        ('{"t":1,"component":"x","kind":"note","outcome":"info","v":NaN}', "'v'"),
    ],
)
def test_bad_json_line_is_rejected_with_a_specific_error(line: str, needle: str) -> None:
    with pytest.raises(HistoryFormatError, match=needle):
        HistoryEvent.from_json_line(line)


def test_fields_of_an_event_are_read_only() -> None:
    event = send_event()
    with pytest.raises(TypeError):
        event.fields["seq"] = 3  # type: ignore[index]


def test_memory_history_stamps_events_with_the_injected_clock() -> None:
    ticks = iter(range(100, 200))
    history = MemoryHistory("apps-0", clock_ns=lambda: next(ticks))
    client = history.bind("app-1", "user@x.com-com.example.echo")
    client.next_conn()
    client.record(EventKind.CONNECT, Outcome.INVOKE, url="ws://h/app-ws")
    client.record(EventKind.CONNECT, Outcome.OK)
    assert [e.t for e in history.events] == [100, 101]
    assert {e.conn for e in history.events} == {1}
    assert history.events[0].session_id == "user@x.com-com.example.echo"


def test_null_history_still_validates() -> None:
    with pytest.raises(HistoryFormatError, match="'seq'"):
        NullHistory().record(EventKind.SEND, Outcome.OK, user="u", stream="s")


async def test_memory_history_wait_for_returns_a_later_event() -> None:
    history = MemoryHistory()
    history.record(EventKind.GIVE_UP, Outcome.INFO)
    async with asyncio.timeout(5):
        task = asyncio.ensure_future(history.wait_for(lambda e: e.kind is EventKind.NOTE))
        # call_soon runs after the task's first step, which registers the waiter.
        asyncio.get_running_loop().call_soon(
            lambda: history.record(EventKind.NOTE, Outcome.INFO, text="here")
        )
        event = await task
    assert event["text"] == "here"


def test_readme_schema_table_matches_the_code() -> None:
    readme = Path(__file__).resolve().parents[2] / "docs" / "history.md"
    rows = {}
    for line in readme.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows[cells[0].strip("`")] = cells
    for kind, spec in SCHEMA.items():
        assert kind.value in rows, f"{kind.value} missing from {readme.name}"
        _, outcomes, fields, _ = rows[kind.value]
        assert {o.strip() for o in outcomes.split("/")} == {o.value for o in spec.outcomes}
        for name in spec.required:
            assert f"**{name}**" in fields, (kind.value, name)
        for name in spec.optional:
            assert name in fields, (kind.value, name)
