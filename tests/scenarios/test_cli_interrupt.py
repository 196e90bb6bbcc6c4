"""Ctrl-C during ``wsquake run``: faults rolled back, every child stopped, the run
directory written and marked interrupted, exit 130."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from wsquake.faults.client import AsyncToxiproxyClient
from wsquake.faults.proxy import EmbeddedToxiproxy

from .run_helpers import alive, child_pids, journal, only_run_dir, write_scenario

# Latency on app-link from 0 s to 300 s (30 s wall at time_scale 0.1): SIGINT arrives
# while it is active, as soon as the plain live view reports it.
STEP = "FaultStep(Link.APP, Latency(20), at_s=0, duration_s=300),"


@pytest.fixture
def proxy_server() -> Iterator[EmbeddedToxiproxy]:
    with EmbeddedToxiproxy(port=0).in_thread() as server:
        yield server


async def run_until_fault_then_sigint(
    tmp_path: Path, env: dict[str, str]
) -> tuple[int, Path, AsyncToxiproxyClient | None]:
    path = write_scenario(tmp_path / "long.py", name="long", steps=STEP)
    out = tmp_path / "runs"
    with (tmp_path / "stderr.log").open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "wsquake", "run", str(path), "--out", str(out), "--no-live",
            stdout=asyncio.subprocess.PIPE, stderr=err, env=env,
        )
        assert proc.stdout is not None
        try:
            async with asyncio.timeout(45):
                while b"faults: 0-app-link-latency" not in (line := await proc.stdout.readline()):
                    assert line, "wsquake run ended before the fault started"
            client = None
            if "TOXIPROXY_URL" in env:
                client = AsyncToxiproxyClient(env["TOXIPROXY_URL"])
                assert {t.name for t in await client.toxics("app-link")} == {
                    "latency_upstream", "latency_downstream"}
            proc.send_signal(signal.SIGINT)
            async with asyncio.timeout(45):
                await proc.stdout.read()
                code = await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    return code, only_run_dir(out), client


def check_interrupted_run(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["exit_code"] == 130
    (scenario,) = summary["scenarios"]
    assert scenario["interrupted"] is True
    assert scenario["faults"] == {"applied": 1, "healed": 0, "rolled_back": 1}
    events = [e["event"] for e in journal(run_dir)]
    assert "scenario_interrupted" in events and "fault_rolled_back" in events
    assert (run_dir / "long" / "history.jsonl").stat().st_size > 0
    pids = child_pids(run_dir)
    assert len(pids) >= 3
    assert alive(pids) == []


async def test_ctrl_c_with_the_embedded_proxy_leaves_no_process_behind(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TOXIPROXY_URL"}
    code, run_dir, _ = await run_until_fault_then_sigint(tmp_path, env)
    assert code == 130, (tmp_path / "stderr.log").read_text()
    check_interrupted_run(run_dir)
    started = {e["component"] for e in journal(run_dir) if e["event"] == "component_ready"}
    assert started == {"proxy", "apps", "cloud", "glasses-0"}


async def test_ctrl_c_on_a_shared_proxy_leaves_no_toxic_and_no_proxy_behind(
    tmp_path: Path, proxy_server: EmbeddedToxiproxy
) -> None:
    env = {**os.environ, "TOXIPROXY_URL": proxy_server.url}
    code, run_dir, client = await run_until_fault_then_sigint(tmp_path, env)
    assert code == 130, (tmp_path / "stderr.log").read_text()
    check_interrupted_run(run_dir)
    assert client is not None
    assert await client.proxies() == {}
