"""GlassesInbox (sans-I/O): cloud frames in, history events out, with an injected clock."""

from __future__ import annotations

import json

from wsquake.history import BoundHistory, EventKind, MemoryHistory, Outcome
from wsquake.simulators.glasses_inbox import GlassesInbox
from wsquake.simulators.glasses_model import GlassesStats

USER = "dave@ex-ample.com"
MS = 1_000_000


class Clock:
    def __init__(self) -> None:
        self.ns = 1_000 * MS

    def __call__(self) -> int:
        return self.ns


def make() -> tuple[GlassesInbox, MemoryHistory, GlassesStats, Clock]:
    clock = Clock()
    history = MemoryHistory("glasses-0", clock_ns=clock)
    bound = BoundHistory(history, USER, USER)
    bound.next_conn()
    stats = GlassesStats()
    return GlassesInbox(USER, bound, stats, clock), history, stats, clock


def session(
    active: list[str], loading: list[str] | dict[str, object], **subs: list[str]
) -> dict[str, object]:
    return {
        "userId": USER,
        "activeAppSessions": active,
        "loadingApps": loading,
        "appSubscriptions": subs,
    }


def frame(type_: str, **fields: object) -> str:
    return json.dumps({"type": type_, **fields})


def test_ack_without_user_session_is_accepted() -> None:
    inbox, history, _, _ = make()
    assert inbox.feed(frame("connection_ack", sessionId=USER)) is True
    ack = history.of(EventKind.ACK)[0]
    assert ack["user_session"] is False and ack["apps"] is None
    assert not history.of(EventKind.INIT)  # no init was sent: nothing to answer


def test_the_ack_after_init_records_init_ok_with_latency() -> None:
    inbox, history, _, clock = make()
    inbox.init_sent(clock.ns)
    clock.ns += 7 * MS
    inbox.feed(frame("connection_ack", sessionId=USER, userSession=session([], [])))
    inbox.feed(frame("connection_ack", sessionId=USER, userSession=session([], [])))
    inits = history.of(EventKind.INIT, Outcome.OK)
    assert len(inits) == 1 and inits[0]["latency_ms"] == 7.0


def test_echo_reply_gives_rtt_and_a_second_reply_is_a_duplicate() -> None:
    inbox, history, stats, clock = make()
    inbox.probe_sent(5, clock.ns)
    reply = frame(
        "display_event",
        packageName="com.example.echo",
        view="dashboard",
        layout={"layoutType": "text_wall", "text": f"echo 5 {clock.ns}"},
    )
    clock.ns += 12 * MS
    assert inbox.feed(reply) is False
    clock.ns += 1 * MS
    inbox.feed(reply)
    first, second = history.of(EventKind.DISPLAY, Outcome.OK)
    assert (first["probe_seq"], first["rtt_ms"], first["duplicate"]) == (5, 12.0, False)
    assert (second["duplicate"], second["rtt_ms"]) == (True, 13.0)
    assert stats.echoes == 1 and list(stats.rtt_ms) == [12.0] and not inbox.pending_probes


def test_app_start_and_stop_resolve_on_app_state_change() -> None:
    inbox, history, _, _ = make()
    inbox.app_command_sent("com.a", start=True)
    inbox.feed(frame("app_state_change", sessionId=USER, userSession=session([], ["com.a"])))
    assert not history.of(EventKind.START_APP)
    running = session(["com.a"], [], **{"com.a": ["button_press", "VAD"]})
    inbox.feed(frame("app_state_change", sessionId=USER, userSession=running))
    assert history.of(EventKind.START_APP, Outcome.OK)[0]["package"] == "com.a"
    assert history.of(EventKind.APP_STATE)[-1]["count"] == 2
    inbox.app_command_sent("com.a", start=False)
    # Under defect D11 loadingApps arrives as an object; it is read as a list of names.
    inbox.feed(frame("app_state_change", sessionId=USER, userSession=session([], {})))
    assert history.of(EventKind.STOP_APP, Outcome.OK)[0]["package"] == "com.a"
    assert [e["active"] for e in history.of(EventKind.APP_STATE)] == ["", "com.a", ""]


def test_connection_error_is_an_init_failure() -> None:
    inbox, history, _, _ = make()
    inbox.feed(frame("connection_error", code="SESSION_ERROR", message="boom"))
    fail = history.of(EventKind.INIT, Outcome.FAIL)[0]
    assert (fail["code"], fail["error"]) == ("SESSION_ERROR", "boom")


def test_garbage_and_unknown_frames_are_ignored() -> None:
    inbox, history, _, _ = make()
    for text in ("not json", "[1]", frame("mystery"), frame("display_event", view="main")):
        assert inbox.feed(text) is False
    assert history.events == []


def test_other_displays_are_recorded_as_info() -> None:
    inbox, history, _, _ = make()
    inbox.feed(
        frame(
            "display_event",
            packageName="com.example.notes",
            view="main",
            layout={"layoutType": "text_wall", "text": "x" * 500},
        )
    )
    shown = history.of(EventKind.DISPLAY, Outcome.INFO)[0]
    assert shown["layout"] == "text_wall" and len(str(shown["text"])) == 120
