"""Glasses starting and stopping apps, and the displays they receive (real cloud and a
real SDK-like app server on loopback)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from wsquake.cloud import AppEntry, CloudServer
from wsquake.history import EventKind, HistoryEvent, MemoryHistory, Outcome
from wsquake.protocol import IosPolicy
from wsquake.simulators.app_server import AppServer, AppServerSettings
from wsquake.simulators.echo import EchoApp
from wsquake.simulators.glasses import GlassesClient, GlassesSettings, GlassesState

from .conftest import SCALE, SECRET, WAIT_S, CloudFactory, user_view

Matcher = Callable[[HistoryEvent], bool]
PACKAGE = "com.example.echo"
EMAIL = "carol@ex-ample.com"


@dataclass
class Stack:
    cloud: CloudServer
    app_server: AppServer


@pytest.fixture
async def stack(make_cloud: CloudFactory) -> AsyncIterator[Stack]:
    settings = AppServerSettings(package_name=PACKAGE, api_key="key-echo", time_scale=SCALE)
    async with AppServer(settings, EchoApp()) as app_server:
        entry = AppEntry(package_name=PACKAGE, public_url=app_server.url, api_key="key-echo")
        async with make_cloud(entry) as cloud:
            yield Stack(cloud, app_server)


def glasses_settings(cloud: CloudServer, **kw: Any) -> GlassesSettings:
    return GlassesSettings(
        cloud_url=cloud.ws_url("/glasses-ws"),
        email=EMAIL,
        jwt_secret=SECRET,
        policy=IosPolicy().scaled(SCALE),
        **kw,
    )


def outcome(kind: EventKind, result: Outcome, package: str = PACKAGE) -> Matcher:
    return lambda e: e.kind is kind and e.outcome is result and e.get("package") == package


async def test_apps_start_once_after_the_first_ack_and_stop_on_request(stack: Stack) -> None:
    history = MemoryHistory("glasses-0")
    async with GlassesClient(
        glasses_settings(stack.cloud, apps=(PACKAGE,)), history=history
    ) as glasses:
        async with asyncio.timeout(WAIT_S):
            await history.wait_for(outcome(EventKind.START_APP, Outcome.OK))
            view = await user_view(stack.cloud, EMAIL)
            assert view is not None
            assert [a["state"] for a in view["apps"] if a["packageName"] == PACKAGE] == ["running"]
            # A reconnect does not start the app again (the cloud keeps it running).
            glasses.drop_transport()
            await history.wait_for(lambda e: e.kind is EventKind.ACK and e.conn == 2)
            await glasses.wait_state(GlassesState.CONNECTED)
            await glasses.stop_app(PACKAGE)
            stopped = await history.wait_for(outcome(EventKind.STOP_APP, Outcome.OK))
    assert stopped.conn == 2
    assert len(history.of(EventKind.START_APP, Outcome.INVOKE)) == 1
    start = history.of(EventKind.START_APP, Outcome.INVOKE)[0]
    first_ack = history.of(EventKind.ACK)[0]
    assert start.conn == 1 and start.t > first_ack.t
    states = history.of(EventKind.APP_STATE)
    assert any(PACKAGE in str(e["active"]) for e in states)
    assert PACKAGE not in str(states[-1]["active"])


async def test_boot_card_is_recorded_as_a_plain_display(stack: Stack) -> None:
    history = MemoryHistory("glasses-0")
    async with GlassesClient(glasses_settings(stack.cloud, apps=(PACKAGE,)), history=history):
        async with asyncio.timeout(WAIT_S):
            card = await history.wait_for(
                lambda e: e.kind is EventKind.DISPLAY and e.outcome is Outcome.INFO
            )
    assert card["layout"] == "reference_card"
    assert card.get("probe_seq") is None


async def test_late_echo_of_an_answered_probe_is_flagged_duplicate(stack: Stack) -> None:
    history = MemoryHistory("glasses-0")
    async with GlassesClient(
        glasses_settings(stack.cloud, apps=(PACKAGE,)), history=history
    ) as glasses:
        async with asyncio.timeout(WAIT_S):
            await history.wait_for(outcome(EventKind.START_APP, Outcome.OK))
            # The app runs, and once the cloud holds its subscription it relays probes
            # (an answer held behind the boot card still arrives).
            await history.wait_for(
                lambda e: e.kind is EventKind.APP_STATE and int(e.get("count") or 0) > 0
            )
            seq = await glasses.send_probe()
            first = await history.wait_for(
                lambda e: e.kind is EventKind.DISPLAY and e.get("probe_seq") == seq
            )
            # Replay the same probe's seq: a second answer for it is a duplicate.
            await glasses.send_raw(
                '{"type":"button_press","buttonId":"probe","pressType":"short",'
                f'"seq":{seq},"sentNs":1}}'
            )
            again = await history.wait_for(
                lambda e: e.kind is EventKind.DISPLAY
                and e.get("probe_seq") == seq
                and e.get("duplicate") is True
            )
    assert first["duplicate"] is False and again["duplicate"] is True
