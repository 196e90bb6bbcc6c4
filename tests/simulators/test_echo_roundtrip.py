"""End to end: glasses -> cloud -> echo app -> cloud -> glasses, on real loopback sockets,
with both sides writing their history files into one run directory."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from wsquake.cloud import AppEntry
from wsquake.history import (
    EventKind,
    HistoryEvent,
    HistoryWriter,
    MemoryHistory,
    Outcome,
    read_history,
)
from wsquake.protocol import IosPolicy
from wsquake.simulators.app_server import AppServer, AppServerSettings
from wsquake.simulators.echo import EchoApp
from wsquake.simulators.glasses import GlassesClient, GlassesSettings, GlassesState
from wsquake.simulators.glasses_streams import StreamRates

from .conftest import SCALE, SECRET, WAIT_S, CloudFactory, user_view

PACKAGE = "com.ex-ample.echo"
EMAIL = "user-0002@ex-ample.com"


def answered_after(seq: int) -> Callable[[HistoryEvent], bool]:
    """An echo reply for a probe later than ``seq``."""

    def match(event: HistoryEvent) -> bool:
        probe_seq = event.get("probe_seq")
        return event.kind is EventKind.DISPLAY and isinstance(probe_seq, int) and probe_seq > seq

    return match


async def test_probe_round_trip_is_recorded_on_both_sides(
    make_cloud: CloudFactory, tmp_path: Path
) -> None:
    apps_file, glasses_file = tmp_path / "apps-0.jsonl", tmp_path / "glasses-0.jsonl"
    seen = MemoryHistory("observer")
    async with (
        HistoryWriter(apps_file, "apps-0") as apps_history,
        HistoryWriter(glasses_file, "glasses-0") as glasses_history,
        AppServer(
            AppServerSettings(package_name=PACKAGE, api_key="key-echo", time_scale=SCALE),
            EchoApp(),
            history=apps_history,
        ) as app_server,
        make_cloud(AppEntry(package_name=PACKAGE, public_url=app_server.url, api_key="key-echo"))
        as cloud,
    ):
        seen.observe(glasses_history)
        settings = GlassesSettings(
            cloud_url=cloud.ws_url("/glasses-ws"),
            email=EMAIL,
            jwt_secret=SECRET,
            policy=IosPolicy().scaled(SCALE),
            apps=(PACKAGE,),
            rates=StreamRates(head_position=20),
            probe_interval_s=0.05,
        )
        async with GlassesClient(settings, history=glasses_history) as glasses:
            async with asyncio.timeout(WAIT_S):
                started = (EventKind.START_APP, Outcome.OK)
                await seen.wait_for(lambda e: (e.kind, e.outcome) == started)
                echo = await seen.wait_for(answered_after(0))
                for _ in range(3):  # three more answered probes: the path stays up
                    echo = await seen.wait_for(answered_after(echo.integer("probe_seq")))
            assert glasses.state is GlassesState.CONNECTED
            user = await user_view(cloud, EMAIL)
            assert user is not None
            assert [a["state"] for a in user["apps"] if a["packageName"] == PACKAGE] == ["running"]

    log = read_history(tmp_path)
    assert not log.truncated
    assert {e.component for e in log} == {"apps-0", "glasses-0"}
    assert [e.t for e in log] == sorted(e.t for e in log)
    seq = echo.integer("probe_seq")
    probe = next(e for e in log.of(EventKind.PROBE) if e["seq"] == seq)
    received = next(
        e
        for e in log.of(EventKind.RECEIVE)
        if e["stream"] == "button_press" and e["seq"] == seq and e["user"] == EMAIL
    )
    answered = next(e for e in log.of(EventKind.DISPLAY, Outcome.OK) if e["probe_seq"] == seq)
    assert probe.t < received.t < answered.t
    assert probe.component == "glasses-0" and received.component == "apps-0"
    rtt = answered.number("rtt_ms")
    assert 0 < rtt < 2000 and answered["duplicate"] is False
    assert answered["package"] == PACKAGE and answered["view"] == "dashboard"
    # Every stream message the glasses sent carries a distinct, increasing seq per stream.
    sends = [
        e for e in log if e.component == "glasses-0" and e.kind in (EventKind.SEND, EventKind.PROBE)
    ]
    for stream in ("head_position", "button_press"):
        ok = [e for e in sends if e["stream"] == stream and e.outcome is not Outcome.FAIL]
        seqs = [e.integer("seq") for e in ok]
        assert seqs == sorted(set(seqs)) and seqs[0] == 1
