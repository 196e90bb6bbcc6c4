"""The runner's fault timeline (FaultDriver) against a real embedded proxy on loopback.

Each test drives the timeline's actions one by one (no clock): start → check the proxy
API → end/rollback → check again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from wsquake.faults.client import AsyncToxiproxyClient, Latency, Timeout
from wsquake.faults.proxy import EmbeddedToxiproxy
from wsquake.history import EventKind, MemoryHistory, Outcome
from wsquake.scenarios.components import Components
from wsquake.scenarios.model import (
    ActionPhase,
    Direction,
    Down,
    FaultStep,
    Link,
    Scenario,
)
from wsquake.scenarios.rundir import Journal, RunDir
from wsquake.scenarios.timeline import FaultDriver, order_actions
from wsquake.scenarios.topology import Topology, create_topology

# Any address works as an upstream: these tests only look at the proxy's API.
APP_SERVERS = ("http://127.0.0.1:9", "http://127.0.0.1:10")


@pytest.fixture
async def client() -> AsyncIterator[AsyncToxiproxyClient]:
    async with EmbeddedToxiproxy(port=0) as server:
        yield AsyncToxiproxyClient(server.url)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    journal = Journal(tmp_path / "journal.jsonl")
    yield journal
    journal.close()


def make_driver(
    client: AsyncToxiproxyClient, topology: Topology, journal: Journal, tmp_path: Path,
    history: MemoryHistory, time_scale: float = 1.0,
) -> FaultDriver:
    sdir = RunDir(tmp_path / "runs", "r").scenario_dir("t")
    return FaultDriver(
        client=client, topology=topology, components=Components(sdir, journal),
        history=history, journal=journal, time_scale=time_scale,
    )


def scenario(*steps: FaultStep) -> Scenario:
    return Scenario(name="t", description="test", steps=steps)


async def toxic_names(client: AsyncToxiproxyClient, proxy: str) -> set[str]:
    return {t.name for t in await client.toxics(proxy)}


async def test_a_toxic_in_both_directions_is_present_during_the_step_and_absent_after(
    client: AsyncToxiproxyClient, journal: Journal, tmp_path: Path
) -> None:
    topo = await create_topology(client, APP_SERVERS[:1])
    history = MemoryHistory("runner")
    driver = make_driver(client, topo, journal, tmp_path, history)
    start, end = scenario(FaultStep(Link.APP, Latency(200), at_s=1, duration_s=2)).timeline()
    await driver.execute(start)
    assert await toxic_names(client, "app-link") == {"latency_upstream", "latency_downstream"}
    assert await toxic_names(client, "glasses-link") == set()
    await driver.execute(end)
    assert await toxic_names(client, "app-link") == set()
    kinds = [(e.kind, e.outcome, e["fault"], e["target"], e["toxic"]) for e in history.events]
    assert kinds == [
        (EventKind.FAULT_START, Outcome.OK, "0-app-link-latency", "app-link", "latency"),
        (EventKind.FAULT_END, Outcome.OK, "0-app-link-latency", "app-link", "latency"),
    ]


async def test_toxic_times_are_scaled_by_the_time_scale(
    client: AsyncToxiproxyClient, journal: Journal, tmp_path: Path
) -> None:
    topo = await create_topology(client, APP_SERVERS[:1])
    driver = make_driver(client, topo, journal, tmp_path, MemoryHistory("runner"), 0.1)
    step = FaultStep(Link.GLASSES, Latency(1000), at_s=0, duration_s=1,
                     direction=Direction.DOWNSTREAM)
    start, _ = scenario(step).timeline()
    await driver.execute(start)
    (toxic,) = await client.toxics("glasses-link")
    assert (toxic.stream, toxic.attributes["latency"]) == ("downstream", 100)


async def test_down_disables_the_proxy_and_the_end_enables_it_on_the_same_port(
    client: AsyncToxiproxyClient, journal: Journal, tmp_path: Path
) -> None:
    topo = await create_topology(client, APP_SERVERS[:1])
    driver = make_driver(client, topo, journal, tmp_path, MemoryHistory("runner"))
    start, end = scenario(FaultStep(Link.GLASSES, Down(), at_s=0, duration_s=1)).timeline()
    await driver.execute(start)
    assert (await client.proxy("glasses-link")).enabled is False
    await driver.execute(end)
    after = await client.proxy("glasses-link")
    assert after.enabled is True
    assert after.listen == topo.glasses.listen


async def test_a_webhook_fault_hits_every_webhook_proxy(
    client: AsyncToxiproxyClient, journal: Journal, tmp_path: Path
) -> None:
    topo = await create_topology(client, APP_SERVERS)
    assert topo.names(Link.WEBHOOK) == ("webhook-link-1", "webhook-link-2")
    driver = make_driver(client, topo, journal, tmp_path, MemoryHistory("runner"))
    step = FaultStep(Link.WEBHOOK, Timeout(0), at_s=0, duration_s=1,
                     direction=Direction.UPSTREAM)
    start, _ = scenario(step).timeline()
    await driver.execute(start)
    assert await toxic_names(client, "webhook-link-1") == {"timeout_upstream"}
    assert await toxic_names(client, "webhook-link-2") == {"timeout_upstream"}


async def test_rollback_removes_active_toxics_and_reenables_proxies(
    client: AsyncToxiproxyClient, journal: Journal, tmp_path: Path
) -> None:
    topo = await create_topology(client, APP_SERVERS[:1])
    history = MemoryHistory("runner")
    driver = make_driver(client, topo, journal, tmp_path, history)
    timeline = scenario(
        FaultStep(Link.APP, Latency(50), at_s=0, duration_s=5),
        FaultStep(Link.WEBHOOK, Down(), at_s=1, duration_s=5),
    ).timeline()
    for action in timeline:
        if action.phase is ActionPhase.START:
            await driver.execute(action)
    assert await toxic_names(client, "app-link")
    assert (await client.proxy("webhook-link")).enabled is False
    assert await driver.rollback() == []
    assert await toxic_names(client, "app-link") == set()
    assert (await client.proxy("webhook-link")).enabled is True
    assert driver.active == {}
    ends = history.of(EventKind.FAULT_END)
    assert [(e["fault"], e["rollback"]) for e in ends] == [
        ("1-webhook-link-down", True), ("0-app-link-latency", True)]
    events = [line["event"] for line in journal.entries]
    assert events.count("fault_rolled_back") == 2


async def test_a_flapping_step_applies_and_heals_every_window(
    client: AsyncToxiproxyClient, journal: Journal, tmp_path: Path
) -> None:
    topo = await create_topology(client, APP_SERVERS[:1])
    history = MemoryHistory("runner")
    driver = make_driver(client, topo, journal, tmp_path, history)
    step = FaultStep(Link.APP, Down(), at_s=0, duration_s=1, repeat=3, every_s=2)
    seen = []
    for action in order_actions(scenario(step).timeline()):
        await driver.execute(action)
        seen.append((await client.proxy("app-link")).enabled)
    assert seen == [False, True] * 3
    assert [e["window"] for e in history.of(EventKind.FAULT_START)] == [0, 1, 2]


async def test_a_failed_toxic_is_recorded_as_fault_start_fail_and_raised(
    client: AsyncToxiproxyClient, journal: Journal, tmp_path: Path
) -> None:
    topo = await create_topology(client, APP_SERVERS[:1])
    history = MemoryHistory("runner")
    driver = make_driver(client, topo, journal, tmp_path, history)
    start, _ = scenario(FaultStep(Link.APP, Latency(5), at_s=0, duration_s=1)).timeline()
    await client.delete_proxy("app-link")
    with pytest.raises(Exception, match="proxy not found"):
        await driver.execute(start)
    (event,) = history.of(EventKind.FAULT_START)
    assert event.outcome is Outcome.FAIL and "proxy not found" in str(event["error"])


def test_a_zero_length_window_ends_after_it_starts() -> None:
    from wsquake.scenarios.model import ProcessAction, ProcessStep, ProcessTarget

    steps = (ProcessStep(ProcessTarget.APPS, ProcessAction.RESTART, at_s=3, duration_s=0),)
    actions = order_actions(Scenario(name="t", description="x", steps=steps).timeline())
    assert [a.phase for a in actions] == [ActionPhase.START, ActionPhase.END]
