"""The app server's history file parses and holds the expected events (ARCHITECTURE §3)."""

from __future__ import annotations

from pathlib import Path

from tests.simulators.app_fixtures import (  # noqa: F401 - app_harness is the h fixture
    AppHarness,
    app_harness,
    wait_event,
)
from wsquake.history import (
    SCHEMA,
    EventKind,
    HistoryEvent,
    HistoryWriter,
    MemoryHistory,
    Outcome,
    read_history_file,
)

EMAIL = "gina@example.com"
PKG = "com.example.hist"
SID = f"{EMAIL}-{PKG}"


async def test_history_file_holds_the_session_lifecycle_and_data(
    h: AppHarness, tmp_path: Path
) -> None:
    path = tmp_path / "app.jsonl"
    writer = await h.enter(HistoryWriter(path, "app:hist", flush_interval_s=0.05))
    seen = MemoryHistory("mirror")
    writer.add_listener(lambda e: seen.record(e.kind, e.outcome, client_id=e.client_id,
                                              session_id=e.session_id, conn=e.conn,
                                              **dict(e.fields)))
    server = await h.app_server(PKG, history=writer)
    cloud = await h.cloud(server)
    glasses = await h.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    await wait_event(seen, EventKind.SUBSCRIBE, where=lambda e: e["streams"] == "button_press")
    await glasses.send_event("button_press", buttonId="main", pressType="short", seq=4,
                             sentNs=1)
    await wait_event(seen, EventKind.RECEIVE)
    server.sessions[SID].abort_transport()
    await wait_event(seen, EventKind.SUBSCRIBE, where=lambda e: e.conn == 2
                     and e["streams"] == "button_press")
    await writer.flush()

    log = read_history_file(path)
    assert not log.truncated
    kinds = {(e.kind, e.outcome) for e in log.events}
    for expected in [
        (EventKind.WEBHOOK, Outcome.INVOKE),
        (EventKind.WEBHOOK, Outcome.OK),
        (EventKind.CONNECT, Outcome.INVOKE),
        (EventKind.CONNECT, Outcome.OK),
        (EventKind.INIT, Outcome.INVOKE),
        (EventKind.INIT, Outcome.OK),
        (EventKind.ACK, Outcome.OK),
        (EventKind.SUBSCRIBE, Outcome.INVOKE),
        (EventKind.RECEIVE, Outcome.OK),
        (EventKind.CLOSE, Outcome.INFO),
        (EventKind.RECONNECT_WAIT, Outcome.INFO),
    ]:
        assert expected in kinds, expected
    for event in log.events:
        assert event.component == "app:hist"
        assert set(SCHEMA[event.kind].required) <= set(event.fields)
        assert HistoryEvent.from_json_line(event.to_json_line()) == event
    receive = next(e for e in log.events if e.kind is EventKind.RECEIVE)
    assert (receive.client_id, receive.session_id, receive.conn) == (SID, SID, 1)
    assert (receive["user"], receive["stream"], receive["seq"]) == (EMAIL, "button_press", 4)
    epochs = [e.conn for e in log.events if e.kind is EventKind.INIT and e.outcome is Outcome.OK]
    assert epochs == [1, 2]


async def test_first_update_is_empty_on_a_fresh_session_and_complete_on_a_reconnect(
    h: AppHarness,
) -> None:
    history = MemoryHistory("app")
    server = await h.app_server(PKG, history=history, subscriptions=("button_press", "VAD"))
    cloud = await h.cloud(server)
    glasses = await h.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    await wait_event(history, EventKind.SUBSCRIBE, where=lambda e: e["count"] == 2)
    server.sessions[SID].abort_transport()
    await wait_event(history, EventKind.SUBSCRIBE, where=lambda e: e.conn == 2)
    updates = [(e.conn, e["streams"]) for e in history.of(EventKind.SUBSCRIBE)]
    # fresh: the ack's update is empty, then one update per handler (SDK onSession)
    assert updates == [(1, ""), (1, "button_press"), (1, "VAD,button_press"),
                       (2, "VAD,button_press")]
