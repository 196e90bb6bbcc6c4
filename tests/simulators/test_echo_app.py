"""The echo app answers probes with their seq (glasses -> cloud -> app -> cloud -> glasses)."""

from __future__ import annotations

import time

from tests.simulators.app_fixtures import (  # noqa: F401 - app_harness is the h fixture
    AppHarness,
    app_harness,
    wait_event,
)
from wsquake.history import EventKind, MemoryHistory, Outcome
from wsquake.protocol import serialise
from wsquake.simulators.echo import ECHO_SEND_STREAM, EchoApp
from wsquake.simulators.probe import ECHO_VIEW, Probe, make_probe, parse_echo

EMAIL = "frank@example.com"
PKG = "com.example.echo"


async def test_probe_comes_back_as_a_display_carrying_its_seq(h: AppHarness) -> None:
    history = MemoryHistory("app")
    app = EchoApp(streams=("head_position",))
    server = await h.app_server(PKG, app=app, history=history, subscriptions=())
    cloud = await h.cloud(server)
    glasses = await h.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    sub = await wait_event(history, EventKind.SUBSCRIBE,
                           where=lambda e: e["streams"] == "button_press,head_position")
    assert sub["count"] == 2
    for seq in (1, 2):
        sent_ns = time.time_ns()
        await glasses.send_text(serialise(make_probe(seq, sent_ns)))
        display = await glasses.next_message(
            "display_event", where=lambda m: parse_echo(m) is not None
        )
        assert parse_echo(display) == Probe(seq, sent_ns)
        assert display["view"] == ECHO_VIEW and display["packageName"] == PKG
    sends = history.of(EventKind.SEND, Outcome.OK)
    assert [(e["stream"], e["seq"], e["user"]) for e in sends] == [
        (ECHO_SEND_STREAM, 1, EMAIL), (ECHO_SEND_STREAM, 2, EMAIL)]
    assert app.echoed == 2 and app.lost == 0


async def test_ordinary_button_press_is_not_echoed(h: AppHarness) -> None:
    history = MemoryHistory("app")
    app = EchoApp()
    server = await h.app_server(PKG, app=app, history=history, subscriptions=())
    cloud = await h.cloud(server)
    glasses = await h.glasses(cloud, EMAIL)
    await glasses.start_app(PKG)
    await wait_event(history, EventKind.SUBSCRIBE, where=lambda e: e["streams"] == "button_press")
    await glasses.send_event("button_press", buttonId="main", pressType="short", seq=1)
    await wait_event(history, EventKind.RECEIVE, where=lambda e: e["seq"] == 1)
    await glasses.send_text(serialise(make_probe(2, time.time_ns())))
    await wait_event(history, EventKind.SEND, Outcome.OK)
    assert [e["seq"] for e in history.of(EventKind.SEND)] == [2]
    assert app.echoed == 1
