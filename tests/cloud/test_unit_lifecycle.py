"""App lifecycle logic (apps.py / sessions.py) driven directly: real managers, a fake
webhook client and socket-less Connections whose queued frames we inspect. No network.

Timeline unit: time_scale 0.01, so app_grace_s 5 -> 50 ms, app_start_timeout_s 5 -> 50 ms.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from wsquake.cloud.apps import AppManager
from wsquake.cloud.core import CloudCore
from wsquake.cloud.exceptions import WebhookTimeout
from wsquake.cloud.metrics import CloudMetrics
from wsquake.cloud.sessions import SessionManager
from wsquake.cloud.settings import AppEntry, CloudSettings, Timings
from wsquake.cloud.transport import Connection, ConnKind
from wsquake.protocol.lifecycle import AppState, SessionState

EMAIL = "anne-marie@ex-ample.com"
PKG = "com.ex-ample.app"
SID = f"{EMAIL}-{PKG}"
WAIT_S = 5.0


class FakeWebhooks:
    def __init__(self) -> None:
        self.calls: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.fail_start = False

    async def send_start(self, url: str, body: dict[str, Any]) -> None:
        await self.calls.put(body)
        if self.fail_start:
            raise WebhookTimeout("no reply")

    async def send_stop(self, url: str, body: dict[str, Any]) -> bool:
        await self.calls.put(body)
        return True

    async def next(self, type_: str) -> dict[str, Any]:
        async with asyncio.timeout(WAIT_S):
            while True:
                body = await self.calls.get()
                if body["type"] == type_:
                    return body


class World:
    def __init__(self, core: CloudCore, webhooks: FakeWebhooks) -> None:
        self.core = core
        self.webhooks = webhooks
        self.apps = AppManager(core)
        self.sessions = SessionManager(core, self.apps)

    def conn(self, kind: ConnKind) -> Connection:
        return Connection(None, kind, None, clock=self.core.clock)  # type: ignore[arg-type]


def frames(conn: Connection) -> list[Any]:
    """What was queued on a socket: JSON dicts, and ('close', code, reason) tuples."""
    out: list[Any] = []
    queue = conn._queue
    while not queue.empty():
        item = queue.get_nowait()
        if isinstance(item, str):
            out.append(json.loads(item))
        elif isinstance(item, bytes):
            out.append(item)
        elif item.code >= 0:
            out.append(("close", item.code, item.reason))
    return out


@pytest.fixture
async def world() -> AsyncIterator[World]:
    settings = CloudSettings(
        port=0,
        jwt_secret="x",
        timings=Timings(time_scale=0.01, boot_card_ms=0),
        apps=(AppEntry(PKG, "http://127.0.0.1:1", "k"),),
    )
    webhooks = FakeWebhooks()
    async with asyncio.TaskGroup() as tg:
        core = CloudCore(settings, metrics=CloudMetrics(), webhooks=webhooks,  # type: ignore[arg-type]
                         task_group=tg)
        core.app_ws_url = "ws://127.0.0.1:1/app-ws"
        w = World(core, webhooks)
        yield w
        core.closing = True
        w.sessions.shutdown()
        core.cancel_all_tasks()


async def start_running(w: World) -> tuple[Connection, Connection]:
    glasses = w.conn(ConnKind.GLASSES)
    user = await w.sessions.attach_glasses(EMAIL, glasses)
    w.apps.start_app(user, PKG)
    request = await w.webhooks.next("session_request")
    assert request["sessionId"] == SID
    app = w.conn(ConnKind.APP)
    w.apps.bind(user, user.apps[PKG], app)
    return glasses, app


async def test_a_late_close_of_a_superseded_socket_changes_nothing(world: World) -> None:
    _, first = await start_running(world)
    user = world.core.users[EMAIL]
    second = world.conn(ConnKind.APP)
    world.apps.bind(user, user.apps[PKG], second)
    assert ("close", 1008, "Superseded by a newer connection") in frames(first)
    world.apps.socket_closed(first)  # the old socket's close arrives late
    rec = user.apps[PKG]
    assert (rec.state, rec.conn) == (AppState.RUNNING, second)


async def test_losing_the_bound_socket_starts_grace_then_resurrects(world: World) -> None:
    _, app = await start_running(world)
    rec = world.core.users[EMAIL].apps[PKG]
    world.apps.socket_closed(app)
    assert rec.state is AppState.GRACE_PERIOD
    stop = await world.webhooks.next("stop_request")  # after app_grace_s (50 ms)
    assert (stop["sessionId"], stop["reason"]) == (SID, "user_disabled")
    again = await world.webhooks.next("session_request")
    assert again["sessionId"] == SID
    assert rec.state is AppState.RESURRECTING and rec.resurrections == 1


async def test_data_during_grace_is_buffered_and_flushed_on_rebind(world: World) -> None:
    _, app = await start_running(world)
    user = world.core.users[EMAIL]
    rec = user.apps[PKG]
    world.apps.socket_closed(app)
    from wsquake.cloud.relay import Relay

    Relay(world.core, world.apps).deliver(rec, '{"type":"data_stream","n":1}')
    back = world.conn(ConnKind.APP)
    world.apps.bind(user, rec, back)
    got = frames(back)
    assert got[0]["type"] == "tpa_connection_ack"
    assert {"type": "data_stream", "n": 1} in got


async def test_start_timeout_fails_the_start_and_a_late_bind_is_refused(world: World) -> None:
    glasses = world.conn(ConnKind.GLASSES)
    user = await world.sessions.attach_glasses(EMAIL, glasses)
    world.apps.start_app(user, PKG)  # the fake webhook "succeeds" but no init follows
    rec = user.apps[PKG]
    changed = asyncio.Event()
    notify = world.core.notify_state

    def notify_and_signal(u: Any) -> None:
        notify(u)
        changed.set()

    world.core.notify_state = notify_and_signal  # type: ignore[method-assign]
    async with asyncio.timeout(WAIT_S):
        await changed.wait()  # the start timer (50 ms) fired: A3 sends app_state_change
    assert rec.state is AppState.DISCONNECTED and rec.start_failed
    assert rec.package not in world.core.running_apps.get(EMAIL, set())
    from wsquake.cloud.app_socket import AppSocketHandler
    from wsquake.cloud.relay import Relay

    handler = AppSocketHandler(world.core, world.apps, Relay(world.core, world.apps))
    late = world.conn(ConnKind.APP)
    handler.on_text(late, json.dumps({"type": "tpa_connection_init", "sessionId": SID,
                                      "packageName": PKG, "apiKey": "k"}))
    reply = frames(late)
    assert reply[0]["code"] == "APP_NOT_STARTED"
    assert reply[1][:2] == ("close", 1008)


async def test_glasses_replacement_closes_the_old_socket(world: World) -> None:
    old = world.conn(ConnKind.GLASSES)
    await world.sessions.attach_glasses(EMAIL, old)
    new = world.conn(ConnKind.GLASSES)
    user = await world.sessions.attach_glasses(EMAIL, new)
    assert ("close", 1000, "Replaced by new connection") in frames(old)
    world.sessions.glasses_closed(old)  # the detached socket's close: no effect
    assert user.state is SessionState.CONNECTED and user.glasses is new


async def test_dispose_stops_apps_with_system_stop(world: World) -> None:
    glasses, app = await start_running(world)
    user = world.core.users[EMAIL]
    world.sessions.glasses_closed(glasses)
    assert user.state is SessionState.CONNECTING
    stop = await world.webhooks.next("stop_request")  # glasses_grace_s 60 -> 0.6 s
    assert stop["reason"] == "system_stop"
    async with asyncio.timeout(WAIT_S):
        await user.disposed.wait()
    sent = frames(app)
    stopped = [f for f in sent if isinstance(f, dict) and f.get("type") == "app_stopped"]
    assert [f["reason"] for f in stopped] == ["system_stop"]
    assert sent[-1] == ("close", 1000, "User session ended")
    assert EMAIL not in world.core.users
