"""The runner end to end: real cloud, proxy and fleet processes on loopback.

Every scenario here runs at time_scale 0.1 (see run_helpers.TINY for its timeline), so
each test takes a few seconds of wall time, mostly process start-up.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from wsquake.cloud import CloudServer, CloudSettings, Timings
from wsquake.faults.client import AsyncToxiproxyClient
from wsquake.faults.proxy import EmbeddedToxiproxy
from wsquake.history import MemoryHistory
from wsquake.scenarios.live import RunStatus
from wsquake.scenarios.loader import load_scenario
from wsquake.scenarios.probes import CloudProber
from wsquake.scenarios.runner import Runner, RunSettings, exit_code

from .run_helpers import alive, child_pids, history, journal, write_scenario

SCENARIO_FILES = ("scenario.json", "history.jsonl", "cloud.toml", "parts/runner.jsonl",
                  "parts/glasses-0.jsonl", "parts/apps.jsonl", "logs/cloud.log")


@pytest.fixture
def proxy_server() -> Iterator[EmbeddedToxiproxy]:
    """A Toxiproxy-compatible server the test can inspect (the runner's remote backend)."""
    with EmbeddedToxiproxy(port=0).in_thread() as server:
        yield server


async def test_a_tiny_baseline_writes_every_file_and_a_passing_summary(tmp_path: Path) -> None:
    scenario = load_scenario(write_scenario(tmp_path / "tiny.py"))
    result = await Runner(RunSettings(out=tmp_path / "runs", toxiproxy_url="")).run([scenario])
    run_dir = result.path
    for name in ("summary.json", "journal.jsonl", "history.jsonl"):
        assert (run_dir / name).is_file(), name
    for name in SCENARIO_FILES:
        assert (run_dir / "tiny" / name).is_file(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["run_id"] == run_dir.name and summary["interrupted"] is False
    (scen,) = summary["scenarios"]
    assert [c["name"] for c in scen["checks"]] == [
        "recovery", "delivery", "subscriptions", "leaks", "health", "lifecycle"]
    for check in scen["checks"]:
        assert check["verdict"] in ("pass", "fail", "unknown")
        for threshold in check["thresholds"]:
            assert {"expr", "verdict", "measured", "expected"} <= set(threshold)
    failing = [(c["name"], c["verdict"], c["summary"]) for c in scen["checks"]
               if c["verdict"] != "pass"]
    assert (scen["verdict"], summary["exit_code"], exit_code(result)) == ("pass", 0, 0), failing
    events = history(run_dir / "tiny" / "history.jsonl")
    kinds = {(e["component"], e["kind"]) for e in events}
    assert {("glasses-0", "connect"), ("apps", "receive"), ("runner", "cloud_probe")} <= kinds
    finals = [e for e in events if e["kind"] == "cloud_probe" and e.get("final")]
    assert len(finals) == 1 and json.loads(finals[0]["body"])["users"]
    assert alive(child_pids(run_dir)) == []


async def test_a_link_fault_is_on_the_proxy_during_its_step_and_gone_after(
    tmp_path: Path, proxy_server: EmbeddedToxiproxy
) -> None:
    # Timeline: latency on app-link from 0 s to 30 s (3 s wall); the test looks while it
    # is active (woken by the runner's status), then after the run.
    path = write_scenario(tmp_path / "latency.py", name="latency",
                          steps="FaultStep(Link.APP, Latency(20), at_s=0, duration_s=30),")
    status = RunStatus()
    active = asyncio.Event()
    status.listeners.append(lambda s: active.set() if s.active_faults else None)
    client = AsyncToxiproxyClient(proxy_server.url)
    runner = Runner(RunSettings(out=tmp_path / "runs", toxiproxy_url=proxy_server.url),
                    status=status)
    run = asyncio.ensure_future(runner.run([load_scenario(path)]))
    try:
        async with asyncio.timeout(40):
            await active.wait()
        names = {t.name for t in await client.toxics("app-link")}
        assert names == {"latency_upstream", "latency_downstream"}
        assert {t.name for t in await client.toxics("glasses-link")} == set()
        result = await run
    finally:
        if not run.done():
            runner.interrupt()
            await asyncio.wait([run])
    assert await client.proxies() == {}  # the run deletes its proxies on a shared server
    entries = [e["event"] for e in journal(result.path)]
    assert entries.count("fault_applied") == 1 and entries.count("fault_healed") == 1
    assert entries.count("proxy_deleted") == 3
    starts = [e for e in history(result.path / "latency" / "history.jsonl")
              if e["kind"] in ("fault_start", "fault_end")]
    assert [(e["kind"], e["fault"], e["toxic"]) for e in starts] == [
        ("fault_start", "0-app-link-latency", "latency"),
        ("fault_end", "0-app-link-latency", "latency")]


async def test_a_cloud_the_runner_did_not_start_is_used_through_the_glasses_link(
    tmp_path: Path,
) -> None:
    path = write_scenario(tmp_path / "foreign.py", name="foreign", apps=0)
    settings = CloudSettings(port=0, jwt_secret="foreign-secret",
                             timings=Timings(time_scale=0.1))
    async with CloudServer(settings) as cloud:
        runner = Runner(RunSettings(out=tmp_path / "runs", cloud_url=cloud.url,
                                    jwt_secret="foreign-secret", toxiproxy_url=""))
        result = await runner.run([load_scenario(path)])
    sdir = result.path / "foreign"
    assert not (sdir / "cloud.toml").exists()
    started = {e["component"] for e in journal(result.path) if e["event"] == "component_ready"}
    assert started == {"proxy", "glasses-0"}
    events = history(sdir / "history.jsonl")
    probes = [e for e in events if e["kind"] == "cloud_probe"]
    assert probes and all(e["outcome"] == "ok" for e in probes)
    urls = {e.get("url") for e in events if e["kind"] == "connect" and e["outcome"] == "invoke"}
    (url,) = urls
    assert url.endswith("/glasses-ws") and f":{cloud.port}/" not in url  # via the proxy
    assert result.scenarios[0].error is None


async def test_a_probe_of_a_cloud_that_does_not_answer_is_recorded_as_fail() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    history_ = MemoryHistory("runner")
    async with CloudProber(f"http://127.0.0.1:{port}", history_, timeout_s=2) as prober:
        snap = await prober.probe(final=True)
    assert snap.ok is False
    (event,) = history_.events
    assert (event.kind.value, event.outcome.value, event["final"]) == ("cloud_probe", "fail",
                                                                        True)
    assert "Connect" in str(event["error"])
